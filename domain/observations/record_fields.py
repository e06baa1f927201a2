"""Typed readers for the string-valued SD params of an interaction record (SPEC §5)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from domain.observations.records import InteractionRecord

USER_AGENT_KEYS = frozenset({"user_agent", "useragent"})
SSH_BANNER_KEYS = ("client_version", "client_banner", "ssh_client", "banner")
SSH_BANNER_EVENT = "ssh_client_banner"

# int() alone would also take "1_000", " +7" or non-ASCII digits from hostile input.
_INT_RE = re.compile(r"[0-9]{1,18}")


def parse_int(value: str | None) -> int | None:
    """The value as a non-negative int when it is plain ASCII digits, else None."""
    if value is None or not _INT_RE.fullmatch(value.strip()):
        return None
    return int(value.strip())


def first_field(fields: Mapping[str, str], keys: Iterable[str]) -> str | None:
    """The first non-empty value among `keys`, in the order given."""
    for key in keys:
        value = fields.get(key)
        if value:
            return value
    return None


# Field names known not to name the User-Agent: a fleet uses a few dozen names, and this runs
# for every record a projection reads (twice: tools and bounties), so most records are settled
# by one set operation in C.
_OTHER_NAMES: set[str] = set()
_OTHER_NAMES_MAX = 4096


def _is_user_agent_name(key: str) -> bool:
    if key.lower().replace("-", "_") in USER_AGENT_KEYS:
        return True
    if len(_OTHER_NAMES) < _OTHER_NAMES_MAX:
        _OTHER_NAMES.add(key)
    return False


def user_agent(record: InteractionRecord) -> str | None:
    """The HTTP User-Agent: a `user_agent`-like field, else the `headers` JSON object."""
    fields = record.fields
    if not _OTHER_NAMES.issuperset(fields):
        for key, value in fields.items():
            if value and key not in _OTHER_NAMES and _is_user_agent_name(key):
                return value
    headers = fields.get("headers")
    return _header(headers, "user-agent") if headers else None


def ssh_client_banner(record: InteractionRecord) -> str | None:
    """The SSH client identification string, read only where a banner field means the client's."""
    # On other services `banner` is usually the server's own greeting, not the attacker's.
    service = record.service
    if service != "ssh" and record.event_type != SSH_BANNER_EVENT and service.lower() != "ssh":
        return None
    banner = (first_field(record.fields, SSH_BANNER_KEYS) or "").strip()
    return banner or None


def _header(raw: str | None, name: str) -> str | None:
    """One header (case-insensitive name) from a JSON-object string; None when unusable."""
    if not raw or not raw.lstrip().startswith("{"):
        return None
    try:
        headers = json.loads(raw)
    except (ValueError, RecursionError):  # attacker-shaped text: malformed or absurdly nested
        return None
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if key.lower() == name and isinstance(value, str) and value:
            return value
    return None
