"""Bounty derivation: what an interaction record yields for the vault (SPEC §3 Bounty)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from domain.observations.record_fields import parse_int, ssh_client_banner, user_agent
from domain.observations.records import InteractionRecord

BountyType = Literal["credential", "fingerprint", "artifact"]
PayloadValue = str | int | None
Payload = dict[str, PayloadValue]

USERNAME_KEYS = ("username", "user", "login")
PASSWORD_KEYS = ("password", "pass")
TCP_SYN_EVENT = "tcp_syn_fingerprint"
TLS_HELLO_EVENT = "tls_client_hello"
FILE_CAPTURED_EVENT = "file_captured"


@dataclass(frozen=True, slots=True)
class Bounty:
    """One harvested item; `payload` is a flat JSON-able object whose shape depends on the type."""

    bounty_type: BountyType
    payload: Payload


def derive_bounties(record: InteractionRecord) -> list[Bounty]:
    """Every bounty the record carries, in a fixed order (credential, fingerprints, artifact)."""
    found = []
    for derive in _COMMON:
        bounty = derive(record)
        if bounty is not None:
            found.append(bounty)
    # The others read one event type each (they come last, in `_DERIVERS` order).
    special = _BY_EVENT_TYPE.get(record.event_type)
    if special is not None:
        bounty = special(record)
        if bounty is not None:
            found.append(bounty)
    return found


def dedup_key(
    bounty_type: str, attacker_ip: str | None, payload: Mapping[str, PayloadValue]
) -> str:
    """A stable digest of (type, ip, payload) so the same bounty is stored once."""
    # A JSON array cannot be confused by separators inside values; ASCII escaping means
    # even unpaired surrogates from hostile input encode.
    value = [bounty_type, attacker_ip, dict(payload)]
    canonical = "".join(_C_DEDUP(value, 0)) if _C_DEDUP is not None else _DEDUP_JSON.encode(value)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True)`, built once: dumps
# builds an encoder (and its C encoder) per call with these arguments, for every bounty seen.
_DEDUP_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
# CPython's C encoder behind it, called directly (typeshed does not declare it): the same
# arguments as `_DEDUP_JSON.iterencode` passes, without the circular-reference markers
# (a payload is a flat dict).
_MAKE_C_ENCODER: Callable[..., Callable[[object, int], tuple[str, ...]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_C_DEDUP = (
    _MAKE_C_ENCODER(
        None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
    if _MAKE_C_ENCODER is not None
    else None
)


def int_or_raw(value: str | None) -> PayloadValue:
    """An int when parsable; otherwise the original text (nothing observed is thrown away)."""
    if not value:
        return None
    parsed = parse_int(value)
    return value if parsed is None else parsed


def _credential(record: InteractionRecord) -> Bounty | None:
    fields = record.fields
    username = fields.get("username") or fields.get("user") or fields.get("login")  # USERNAME_KEYS
    if not username:
        return None
    # An empty password is still a credential attempt worth keeping (e.g. `root` / "").
    password = fields.get("password")  # PASSWORD_KEYS, in order
    if password is None:
        password = fields.get("pass")
        if password is None:
            return None
    return Bounty("credential", {"username": username, "password": password})


def _http_useragent(record: InteractionRecord) -> Bounty | None:
    value = user_agent(record)
    if value is None:
        return None
    return _fingerprint(
        "http_useragent",
        value=value,
        method=record.fields.get("method") or None,
        path=record.fields.get("path") or None,
    )


def _ssh_client(record: InteractionRecord) -> Bounty | None:
    value = ssh_client_banner(record)
    return None if value is None else _fingerprint("ssh_client", value=value)


def _tcp_syn(record: InteractionRecord) -> Bounty | None:
    if record.event_type != TCP_SYN_EVENT:
        return None
    fields = record.fields
    return _fingerprint(
        "tcp_syn",
        os_guess=fields.get("os_guess") or None,
        ttl=int_or_raw(fields.get("ttl")),
        window=int_or_raw(fields.get("window")),
        mss=int_or_raw(fields.get("mss")),
        options=fields.get("options") or fields.get("options_sig") or None,
    )


def _ja3(record: InteractionRecord) -> Bounty | None:
    if record.event_type != TLS_HELLO_EVENT:
        return None
    fields = record.fields
    if not (fields.get("ja3") or fields.get("ja3_hash") or fields.get("ja4")):
        return None
    payload: Payload = {"fingerprint_type": "ja3", "ja3": fields.get("ja3") or None}
    optional = {
        "ja3_hash": fields.get("ja3_hash"),
        "ja4": fields.get("ja4"),
        "sni": fields.get("sni") or fields.get("server_name"),
    }
    # Optional keys appear only when observed, so absent ones do not split the dedup key.
    payload.update({key: value for key, value in optional.items() if value})
    return Bounty("fingerprint", payload)


def _artifact(record: InteractionRecord) -> Bounty | None:
    fields = record.fields
    if record.event_type != FILE_CAPTURED_EVENT:
        return None
    if not (fields.get("stored_as") or fields.get("sha256")):
        return None
    payload: Payload = {
        "stored_as": fields.get("stored_as") or None,
        "sha256": fields.get("sha256") or None,
        "size": int_or_raw(fields.get("size")),
        "orig_path": fields.get("orig_path") or None,
    }
    return Bounty("artifact", payload)


def _fingerprint(fingerprint_type: str, **values: PayloadValue) -> Bounty:
    return Bounty("fingerprint", {"fingerprint_type": fingerprint_type, **values})


_DERIVERS: tuple[Callable[[InteractionRecord], Bounty | None], ...] = (
    _credential,
    _http_useragent,
    _ssh_client,
    _tcp_syn,
    _ja3,
    _artifact,
)
_COMMON = _DERIVERS[:3]  # any record may carry these
_BY_EVENT_TYPE = {TCP_SYN_EVENT: _tcp_syn, TLS_HELLO_EVENT: _ja3, FILE_CAPTURED_EVENT: _artifact}
