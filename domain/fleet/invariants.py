"""Rules a deployment must keep against the fleet as it stands, checked inside the aggregate."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from domain.fleet.errors import FleetConflictError
from domain.fleet.plan import FleetPlan, FleetView


def check_deployable(fleet: FleetView, interface: str | None, plan: FleetPlan) -> None:
    """Refuse a plan breaking the limit, unique names/IPs or the fleet's network settings.

    The plan was made against this fleet, so this only fires if it was not (a stale plan or a bug);
    keeping the check here means the invariants never depend on the caller.
    """
    limit = fleet.deployment_limit
    if fleet.decky_count + len(plan.deckies) > limit:
        raise FleetConflictError(None, None, f"the deployment limit of {limit} would be exceeded")
    names = [s.name for s in plan.deckies]
    if len(set(names)) < len(names) or not fleet.names.isdisjoint(names):
        raise FleetConflictError(None, None, "a decky name is already in the fleet")
    if not fleet.names.issuperset(plan.unchanged):
        raise FleetConflictError(None, None, "a decky the plan keeps is no longer in the fleet")
    ips = [s.ip for s in plan.deckies]
    if len(set(ips)) < len(ips) or not fleet.used_ips.isdisjoint(ips):
        raise FleetConflictError(None, "ip", "an IP address is already used in the fleet")
    _check_network(fleet, interface, plan)


def _check_network(fleet: FleetView, interface: str | None, plan: FleetPlan) -> None:
    for key, mine, theirs in (("net", fleet.net, plan.net), ("gw", fleet.gateway, plan.gw)):
        if mine is not None and theirs != mine:
            raise FleetConflictError("general", key, f"{theirs} contradicts the fleet's {mine}")
    if interface is not None and plan.interface not in (None, interface):
        reason = f"{plan.interface} contradicts the fleet's interface {interface}"
        raise FleetConflictError("general", "interface", reason)
    if plan.net is not None and fleet.net is None:
        # A first network must hold the deckies placed before any network was set.
        network = IPv4Network(plan.net)
        outside = sorted(ip for ip in fleet.used_ips if IPv4Address(ip) not in network)
        if outside:
            reason = f"{network} does not contain the fleet's deckies at {', '.join(outside)}"
            raise FleetConflictError("general", "net", reason)
