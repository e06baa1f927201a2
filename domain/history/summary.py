"""One-line summaries of stored events, and what an interaction batch holds at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_LISTED = 50  # deckies / attacker IPs named in a batch summary


def batch_digest(records: Sequence[Any]) -> dict[str, Any]:
    """Record count, time span, deckies and attacker IPs of a batch (first-seen order, capped)."""
    deckies = list(dict.fromkeys(r.decky for r in records))
    ips = list(dict.fromkeys(r.attacker_ip for r in records if r.attacker_ip))
    stamps = [r.timestamp for r in records]
    return {
        "records": len(records),
        "first": _iso(min(stamps)) if stamps else None,
        "last": _iso(max(stamps)) if stamps else None,
        "deckies": deckies[:MAX_LISTED],
        "decky_count": len(deckies),
        "attacker_ips": ips[:MAX_LISTED],
        "attacker_ip_count": len(ips),
    }


def summarize(type_name: str, state: dict[str, Any], actor: str | None) -> str:
    """A human line for the history list (the data says the rest)."""
    who = actor or "system"
    target = _target(state)
    if type_name == "observations.batch_observed":
        digest = state.get("digest") or {}
        return (
            f"{digest.get('records', 0)} interaction records from"
            f" {digest.get('attacker_ip_count', 0)} attacker IPs on"
            f" {digest.get('decky_count', 0)} deckies"
        )
    verb = type_name.split(".", 1)[-1].replace("_", " ")
    return f"{who}: {verb}" + (f" {target}" if target else "")


def _target(state: dict[str, Any]) -> str:
    for key in ("decky", "username", "label", "name"):
        value = state.get(key)
        if isinstance(value, str) and value:
            return value
    spec = state.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("name"), str):
        return str(spec["name"])
    return ""


def _iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")
