"""The behaviour block of one attacker, maintained record by record (SPEC §3, §6).

All state is JSON-able through `to_state()` / `from_state()`, so a projection can keep it
in a JSONB column and a rebuild that replays the same records produces the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.attackers.classify import classify
from domain.attackers.osguess import ModalTally, hop_distance, os_from_ttl, syn_signature
from domain.attackers.phases import PhaseState
from domain.attackers.timing import TimingState
from domain.attackers.tools import guess_tools, order_tools
from domain.observations.record_fields import parse_int, ssh_client_banner, user_agent
from domain.observations.records import InteractionRecord

STATE_VERSION = 1
TCP_SYN_EVENT = "tcp_syn_fingerprint"
# Passive sniffer observations: they time the attacker but are not a service it touched.
SNIFFER_EVENT_TYPES = frozenset(
    {
        "tcp_syn_fingerprint",
        "tcp_flow_timing",
        "tls_client_hello",
        "tls_session",
        "ssh_client_banner",
    }
)


@dataclass(slots=True)
class AttackerBehavior:
    """Aggregate of the running states behind one attacker's `behavior` object."""

    timing: TimingState = field(default_factory=TimingState)
    services: set[str] = field(default_factory=set)
    tools: list[str] = field(default_factory=list)
    os_guesses: ModalTally = field(default_factory=ModalTally)
    signatures: ModalTally = field(default_factory=ModalTally)
    hop_distance: int | None = None
    phases: PhaseState = field(default_factory=PhaseState)

    def observe(self, record: InteractionRecord) -> None:
        """Feed one of the attacker's records, in event-log order."""
        self.timing.add(record.timestamp)
        if record.event_type not in SNIFFER_EVENT_TYPES:
            self.services.add(record.service)
        self._observe_tools(record)
        if record.event_type == TCP_SYN_EVENT:
            self._observe_syn(record.fields)
        self.phases.observe(record)

    def _observe_tools(self, record: InteractionRecord) -> None:
        texts = (user_agent(record), ssh_client_banner(record))
        found = [tool for text in texts if text for tool in guess_tools(text)]
        if found:
            self.tools = order_tools([*self.tools, *found])

    def _observe_syn(self, fields: Mapping[str, str]) -> None:
        ttl = parse_int(fields.get("ttl"))
        guess = fields.get("os_guess", "").strip().lower()
        if not guess or guess == "unknown":  # the sniffer's "no match": fall back to the TTL
            guess = (os_from_ttl(ttl) if ttl is not None else None) or ""
        if guess:
            self.os_guesses.add(guess)
        hops = parse_int(fields.get("hop_distance"))
        if hops is None and ttl is not None:
            hops = hop_distance(ttl)
        if hops is not None:
            self.hop_distance = hops  # the latest: routes change, the newest one is current
        signature = syn_signature(fields)
        if signature is not None:
            self.signatures.add(signature)

    def behavior(self) -> dict[str, Any]:
        """SPEC's `behavior` object."""
        behavior_class, interval, jitter = classify(len(self.services), self.timing)
        return {
            "os_guess": self.os_guesses.mode(),
            "hop_distance": self.hop_distance,
            "tcp_fingerprint": self.signatures.mode(),
            "behavior_class": behavior_class,
            "beacon_interval_s": interval,
            "beacon_jitter_pct": jitter,
            "tool_guesses": list(self.tools),
            "timing_stats": self.timing.snapshot(),
            "phase_sequence": self.phases.snapshot(),
        }

    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict for storage; `from_state` gives back an equal aggregate."""
        return {
            "version": STATE_VERSION,
            "timing": self.timing.to_dict(),
            "services": sorted(self.services),
            "tools": list(self.tools),
            "os_guesses": self.os_guesses.to_dict(),
            "signatures": self.signatures.to_dict(),
            "hop_distance": self.hop_distance,
            "phases": self.phases.to_dict(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> AttackerBehavior:
        """Rebuild from `to_state` output."""
        hops = state["hop_distance"]
        return cls(
            timing=TimingState.from_dict(state["timing"]),
            services={str(service) for service in state["services"]},
            tools=order_tools(str(tool) for tool in state["tools"]),
            os_guesses=ModalTally.from_dict(state["os_guesses"]),
            signatures=ModalTally.from_dict(state["signatures"]),
            hop_distance=None if hops is None else int(hops),
            phases=PhaseState.from_dict(state["phases"]),
        )
