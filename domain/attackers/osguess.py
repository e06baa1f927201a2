"""OS guesses from the sniffer's SYN fingerprints and TTLs (SPEC §6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from domain.observations.record_fields import parse_int

# Common initial TTLs of IP stacks; an observed TTL has been decremented once per hop.
INITIAL_TTLS = (32, 64, 128, 255)


def os_from_ttl(ttl: int) -> str | None:
    """linux (≤ 64), windows (≤ 128), embedded (else); None outside 1..255."""
    if not 1 <= ttl <= 255:
        return None
    if ttl <= 64:
        return "linux"
    return "windows" if ttl <= 128 else "embedded"


def initial_ttl(ttl: int) -> int | None:
    """The smallest common initial TTL ≥ the observed one; None outside 1..255."""
    if not 1 <= ttl <= 255:
        return None
    return next(initial for initial in INITIAL_TTLS if initial >= ttl)


def hop_distance(ttl: int) -> int | None:
    """Hops between the attacker and us, from the observed TTL."""
    initial = initial_ttl(ttl)
    return None if initial is None else initial - ttl


def syn_signature(fields: Mapping[str, str]) -> str | None:
    """`initial_ttl:window:mss:options` of a SYN fingerprint record; `?` for what is missing."""
    ttl = parse_int(fields.get("ttl"))
    # The initial TTL, not the observed one, so one client seen over two routes stays one.
    ittl = initial_ttl(ttl) if ttl is not None else parse_int(fields.get("initial_ttl"))
    parts = (
        str(ittl) if ittl is not None else "",
        fields.get("window", ""),
        fields.get("mss", ""),
        fields.get("options") or fields.get("options_sig", ""),
    )
    if not any(parts):
        return None
    return ":".join(part or "?" for part in parts)


@dataclass(slots=True)
class ModalTally:
    """Counts per label and their mode; the highest count wins, ties go to the smallest label."""

    counts: dict[str, int] = field(default_factory=dict)

    # Bounds the state when an attacker varies its stack on purpose; dropping labels past
    # the cap is deterministic, so a rebuild still agrees.
    MAX_LABELS: ClassVar[int] = 64

    def add(self, label: str) -> None:
        """Count one observation of `label`."""
        if label in self.counts or len(self.counts) < self.MAX_LABELS:
            self.counts[label] = self.counts.get(label, 0) + 1

    def mode(self) -> str | None:
        """The most frequent label; None before any."""
        # Tie-break by label, not insertion order: JSONB does not keep object key order.
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return ranked[0][0] if ranked else None

    def to_dict(self) -> dict[str, int]:
        """A JSON-able copy of the counts."""
        return dict(self.counts)

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> ModalTally:
        """Rebuild from `to_dict` output."""
        return cls({str(label): int(count) for label, count in data.items()})
