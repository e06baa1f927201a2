"""Per-service INI settings (`[decky.service]`, SPEC §4): the keys the emulators honour, checked.

A known key with a bad value is refused (422 `[section] key: reason`); a key no emulator reads is
kept in `service_config` and reported back as ignored. The table lists what the emulators in
`infrastructure/emulators/` really read, so "known" means "has an effect".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from domain.fleet.errors import IniInvalidError

Check = Callable[[str], str | None]  # the reason a value is refused, or None

MAX_TEXT = 200
MAX_VERSION = 64
MAX_COMMON_NAME = 64  # X.509 upper bound for a CN
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_NAME = re.compile(r"[^\s:,]+")
# Listeners bind the service's standard port (else a free one) and `/deckies` reports it in
# `ports`; a port setting would be silently ignored, so it is refused instead.
NOT_CONFIGURABLE = {
    "port": "not configurable: each service listens on its standard port (or a free one when "
    "that cannot be bound); /deckies shows it in `ports`",
}


def _required(value: str) -> str | None:
    return "must not be empty (leave the key out instead)" if not value else None


def _text(value: str, limit: int = MAX_TEXT, ascii_only: bool = False) -> str | None:
    if not value:
        return "must not be empty (leave the key out instead)"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if not value.isprintable() or (ascii_only and not value.isascii()):
        kind = "printable ASCII" if ascii_only else "printable text"
        return f"must be {kind} on one line"
    return None


def _banner(value: str) -> str | None:
    return _text(value)


def _version(value: str) -> str | None:
    return _text(value, MAX_VERSION, ascii_only=True)


def _ssh_banner(value: str) -> str | None:
    if value.startswith("SSH-") and not value.startswith("SSH-2.0-"):
        return "an SSH identification must start with SSH-2.0- (or give only the software part)"
    return _text(value.removeprefix("SSH-2.0-"), ascii_only=True)


def _users(value: str) -> str | None:
    entries = [entry.strip() for entry in value.split(",")]
    if not any(entries):
        return "lists no name:password pairs"
    for position, entry in enumerate(entries, start=1):
        name, sep, secret = entry.partition(":")
        # The entry itself is never quoted back: it holds a password.
        if entry and (not sep or _NAME.fullmatch(name) is None or not secret):
            return f"entry {position} is not name:password (use * as the password to accept any)"
    return None


def _hostname(value: str) -> str | None:
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return f"{value[:80]!r} is not a valid hostname"
    return None


def _server_header(value: str) -> str | None:
    return None if value == "" else _text(value)  # empty: answer without a Server header


def _status_code(value: str) -> str | None:
    if not (value.isascii() and value.isdigit() and 100 <= int(value) <= 599):
        return f"must be an HTTP status code from 100 to 599 (got {value[:20]!r})"
    return None


def _common_name(value: str) -> str | None:
    if any(c.isspace() for c in value):
        return "must not contain whitespace"
    return _text(value, MAX_COMMON_NAME)


def _server_path(value: str) -> str | None:
    if not value.startswith("/"):
        return "must be an absolute path of a PEM file on the server"
    return _text(value, 4096)


def _anything(value: str) -> str | None:
    return None


_SHELL: dict[str, Check] = {"password": _required, "users": _users, "hostname": _hostname}
_HTTP: dict[str, Check] = {
    "server_header": _server_header,
    "response_code": _status_code,
    "body": _anything,
}
KNOWN_KEYS: Mapping[str, Mapping[str, Check]] = MappingProxyType(
    {
        "ssh": {**_SHELL, "banner": _ssh_banner, "version": _ssh_banner},
        "telnet": dict(_SHELL),
        "ftp": {"banner": _banner, "users": _users},
        "smtp": {"banner": _banner, "users": _users},
        "http": dict(_HTTP),
        "https": {
            **_HTTP,
            "tls_cn": _common_name,
            "tls_cert": _server_path,
            "tls_key": _server_path,
        },
        "redis": {"version": _version, "password": _required},
        "mysql": {"version": _version},
    }
)


def check_service_settings(section: str, service: str, values: Mapping[str, str]) -> list[str]:
    """Refuse a known key's bad value (`IniInvalidError`); return the keys no emulator reads."""
    known = KNOWN_KEYS.get(service, {})
    ignored: list[str] = []
    for key, value in values.items():
        if key in NOT_CONFIGURABLE:
            raise IniInvalidError(section, key, NOT_CONFIGURABLE[key])
        check = known.get(key)
        if check is None:
            ignored.append(key)
        elif (reason := check(value)) is not None:
            raise IniInvalidError(section, key, reason)
    if "tls_key" in known and "tls_key" in values and "tls_cert" not in values:
        raise IniInvalidError(section, "tls_key", "needs tls_cert (the certificate it belongs to)")
    return ignored
