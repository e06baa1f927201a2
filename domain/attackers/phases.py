"""Recon → exfil phase sequence of one attacker, kept incrementally (SPEC §6).

Arrival order decides "before the first command": once the first exfil-type record has
been fed in, recon is over and later recon records no longer move `recon_end_ts`.
Until then `recon_end_ts` is the latest recon timestamp seen so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.attackers.timefmt import iso_z_or_none, parse_ts_or_none
from domain.observations.commands import COMMAND_EVENT_TYPES
from domain.observations.record_fields import parse_int
from domain.observations.records import InteractionRecord

RECON_EVENT_TYPES = frozenset(
    {
        "connect",
        "connection",
        "disconnect",
        "login_attempt",
        "request",
        "banner",
        "tcp_syn_fingerprint",
        "tls_client_hello",
        "ssh_client_banner",
    }
)
EXFIL_EVENT_TYPES = COMMAND_EVENT_TYPES | {"file_captured", "file_transfer", "data_exfil"}
PAYLOAD_SIZE_KEYS = ("size", "bytes")
LARGE_PAYLOAD_BYTES = 1024 * 1024


def is_exfil(event_type: str) -> bool:
    """Commands, uploads and downloads: the attacker acting on the objective."""
    return event_type in EXFIL_EVENT_TYPES or "download" in event_type or "upload" in event_type


def is_recon(event_type: str) -> bool:
    """Connection lifecycle, auth, requests, scans, probes and passive fingerprints."""
    return (
        event_type in RECON_EVENT_TYPES
        or event_type.startswith("auth")
        or "scan" in event_type
        or "probe" in event_type
    )


def is_large_payload(fields: Mapping[str, str]) -> bool:
    """A `size`/`bytes` field of at least 1 MiB."""
    for key in PAYLOAD_SIZE_KEYS:
        value = fields.get(key)
        if value is not None:
            size = parse_int(value)
            if size is not None and size >= LARGE_PAYLOAD_BYTES:
                return True
    return False


# Event type -> (is_exfil, is_recon): a fleet has a few dozen types, every record asks.
_KINDS: dict[str, tuple[bool, bool]] = {}
_KINDS_MAX = 4096


def _kind(event_type: str) -> tuple[bool, bool]:
    kind = _KINDS.get(event_type)
    if kind is None:
        kind = (is_exfil(event_type), is_recon(event_type))
        if len(_KINDS) < _KINDS_MAX:
            _KINDS[event_type] = kind
    return kind


@dataclass(slots=True)
class PhaseState:
    """Where recon ended, when exfil started, and how many large payloads were seen."""

    recon_end: datetime | None = None
    exfil_start: datetime | None = None
    large_payload_count: int = 0

    def observe(self, record: InteractionRecord) -> None:
        """Account for one record."""
        if is_large_payload(record.fields):
            self.large_payload_count += 1
        if self.exfil_start is not None:
            return
        exfil, recon = _kind(record.event_type)
        if exfil:
            self.exfil_start = record.timestamp
        elif recon:
            self.recon_end = max(self.recon_end or record.timestamp, record.timestamp)

    @property
    def exfil_latency_s(self) -> float | None:
        """Seconds from recon end to exfil start; 0 when skew puts them the wrong way round."""
        if self.recon_end is None or self.exfil_start is None:
            return None
        return max((self.exfil_start - self.recon_end).total_seconds(), 0.0)

    def snapshot(self) -> dict[str, Any]:
        """SPEC's `phase_sequence` object."""
        return {
            "recon_end_ts": iso_z_or_none(self.recon_end),
            "exfil_start_ts": iso_z_or_none(self.exfil_start),
            "exfil_latency_s": self.exfil_latency_s,
            "large_payload_count": self.large_payload_count,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that `from_dict` turns back into an equal state."""
        return {
            "recon_end": iso_z_or_none(self.recon_end),
            "exfil_start": iso_z_or_none(self.exfil_start),
            "large_payload_count": self.large_payload_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseState:
        """Rebuild from `to_dict` output."""
        return cls(
            recon_end=parse_ts_or_none(data["recon_end"]),
            exfil_start=parse_ts_or_none(data["exfil_start"]),
            large_payload_count=int(data["large_payload_count"]),
        )
