"""Where a runtime can place deckies: the local runtime only on loopback addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from domain.fleet.errors import FleetConflictError
from domain.fleet.plan import FleetPlan

LOOPBACK = IPv4Network("127.0.0.0/8")


def require_loopback(plan: FleetPlan) -> None:
    """Refuse (409) a plan the local runtime cannot bind: a non-loopback net or decky IP."""
    if plan.net is not None and not IPv4Network(plan.net).subnet_of(LOOPBACK):
        reason = f"{plan.net} is not loopback; the local runtime only binds 127.0.0.0/8"
        raise FleetConflictError("general", "net", reason)
    for spec in plan.deckies:
        if IPv4Address(spec.ip) not in LOOPBACK:
            reason = f"{spec.ip} is not loopback; the local runtime only binds 127.0.0.0/8"
            raise FleetConflictError(spec.name, "ip", reason)
