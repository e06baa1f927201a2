"""Turning validated decky sections into concrete deckies against the fleet as it stands."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from domain.fleet.allocation import IpAllocator
from domain.fleet.catalogue import SERVICE_NAMES
from domain.fleet.decky import DeckySpec
from domain.fleet.distros import DEFAULT_DISTRO_POOL, DISTROS, Distro, generate_hostname
from domain.fleet.errors import FleetConflictError
from domain.fleet.redeploy import check_same_decky
from domain.fleet.sections import DeckyDraft

DEFAULT_DEPLOYMENT_LIMIT = 10
MAX_RANDOM_SERVICES = 3
# Hostname styles have finite spaces; past this many redraws a duplicate is accepted.
_UNIQUE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True, eq=False)
class FleetView:
    """The fleet an INI is checked against: each decky as it was deployed, by name.

    `net`/`gateway` are None until one is set.
    """

    deckies: Mapping[str, DeckySpec] = field(default_factory=dict)
    net: str | None = None
    gateway: str | None = None
    deployment_limit: int = DEFAULT_DEPLOYMENT_LIMIT

    def __post_init__(self) -> None:
        # Fail fast on a malformed view: it is a caller bug, not an operator's INI mistake.
        _ = self.network, self.gateway_address

    @property
    def names(self) -> frozenset[str]:
        """The deckies' names."""
        return frozenset(self.deckies)

    @property
    def used_ips(self) -> frozenset[str]:
        """The addresses the fleet's deckies hold."""
        return frozenset(spec.ip for spec in self.deckies.values())

    def ip_owner(self, ip: str) -> str | None:
        """The decky holding `ip`, if any."""
        return next((n for n, spec in self.deckies.items() if spec.ip == ip), None)

    @property
    def decky_count(self) -> int:
        """How many deckies the fleet holds."""
        return len(self.deckies)

    @property
    def network(self) -> IPv4Network | None:
        """The fleet's network, parsed."""
        return IPv4Network(self.net) if self.net is not None else None

    @property
    def gateway_address(self) -> IPv4Address | None:
        """The fleet's gateway, parsed."""
        return IPv4Address(self.gateway) if self.gateway is not None else None


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """What deploying an INI means: its `[general]` settings and its new deckies in INI order.

    `unchanged` names the INI's deckies the fleet already has as defined (nothing to deploy);
    `ignored` lists `[section] key` settings no emulator reads (kept in `service_config`).
    """

    net: str | None
    gw: str | None
    interface: str | None
    mutate_interval_minutes: int | None
    deckies: tuple[DeckySpec, ...]
    unchanged: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclass(slots=True)
class _Taken:
    hostnames: set[str]
    macs: set[str]


def plan_deckies(
    drafts: tuple[DeckyDraft, ...],
    network: IPv4Network,
    gateway: IPv4Address | None,
    existing: FleetView,
    rng: random.Random,
    default_interval: int | None = None,
) -> tuple[tuple[DeckySpec, ...], tuple[str, ...]]:
    """(new deckies, names kept unchanged): settle names, addresses and random picks.

    A name the fleet already has is kept when the section agrees with it (`redeploy`); any
    other clash is a `FleetConflict`. `default_interval` is `[general] mutate_interval`.
    """
    claims = _claim_names(drafts, existing, default_interval)
    addresses = _assign_addresses(drafts, claims.fresh, network, gateway, existing)
    taken = _Taken(hostnames=set(), macs=set())
    deckies = tuple(
        _realise(draft, name, address, rng, taken)
        for draft, draft_names, draft_addresses in zip(drafts, claims.fresh, addresses, strict=True)
        for name, address in zip(draft_names, draft_addresses, strict=True)
    )
    return deckies, tuple(claims.unchanged)


@dataclass(slots=True)
class _Claims:
    fresh: list[tuple[str, ...]] = field(default_factory=list)  # new names, per draft
    unchanged: list[str] = field(default_factory=list)


def _claim_names(
    drafts: tuple[DeckyDraft, ...], existing: FleetView, default_interval: int | None
) -> _Claims:
    claims = _Claims()
    owners: dict[str, str] = {}
    new_count = 0
    for draft in drafts:
        fresh = []
        for name in draft.names():
            if name in owners:
                reason = f"decky {name!r} is also defined by [{owners[name]}]"
                raise FleetConflictError(draft.section, None, reason)
            owners[name] = draft.section
            deployed = existing.deckies.get(name)
            if deployed is None:
                fresh.append(name)
            else:
                check_same_decky(draft, name, deployed, default_interval)
                claims.unchanged.append(name)
        new_count += len(fresh)
        # Checked per section, so a huge INI costs no more than the limit (plus the fleet).
        _check_limit(draft, existing, new_count)
        claims.fresh.append(tuple(fresh))
    return claims


def _check_limit(draft: DeckyDraft, existing: FleetView, new_count: int) -> None:
    limit, count = existing.deployment_limit, existing.decky_count
    if count + new_count > limit:
        raise FleetConflictError(
            draft.section,
            "amount" if draft.amount is not None else None,
            f"deploying [{draft.section}] would grow the fleet of {count} deckies to"
            f" {count + new_count}, past the deployment limit of {limit}",
        )


def _assign_addresses(
    drafts: tuple[DeckyDraft, ...],
    fresh: list[tuple[str, ...]],
    network: IPv4Network,
    gateway: IPv4Address | None,
    existing: FleetView,
) -> list[list[IPv4Address]]:
    allocator = IpAllocator(network, [*existing.used_ips, *([gateway] if gateway else [])])
    owners: dict[IPv4Address, str] = {}
    # Explicit addresses are reserved first so an earlier section's automatic pick cannot take
    # an address a later section asked for. A kept decky already holds its own.
    for draft, names in zip(drafts, fresh, strict=True):
        if draft.ip is not None and names:
            _claim_address(allocator, owners, draft, draft.ip, existing)
    return [
        _addresses_for(allocator, draft, len(names))
        for draft, names in zip(drafts, fresh, strict=True)
    ]


def _claim_address(
    allocator: IpAllocator,
    owners: dict[IPv4Address, str],
    draft: DeckyDraft,
    ip: IPv4Address,
    existing: FleetView,
) -> None:
    if ip in owners:
        raise FleetConflictError(draft.section, "ip", f"{ip} is also given to [{owners[ip]}]")
    if allocator.is_taken(ip):
        holder = existing.ip_owner(str(ip))
        by = f" by decky {holder!r}" if holder is not None else ""
        raise FleetConflictError(draft.section, "ip", f"{ip} is already used in the fleet{by}")
    owners[ip] = draft.section
    allocator.reserve(ip)


def _addresses_for(allocator: IpAllocator, draft: DeckyDraft, count: int) -> list[IPv4Address]:
    if draft.ip is not None:
        return [draft.ip] * count
    return [_allocate(allocator, draft) for _ in range(count)]


def _allocate(allocator: IpAllocator, draft: DeckyDraft) -> IPv4Address:
    address = allocator.allocate()
    if address is None:
        reason = f"the network {allocator.network} has no free address left"
        raise FleetConflictError(draft.section, None, reason)
    return address


def _realise(
    draft: DeckyDraft, name: str, address: IPv4Address, rng: random.Random, taken: _Taken
) -> DeckySpec:
    # Draw order is fixed (services, distro, MAC, hostname) so a seed always gives the same fleet.
    services = draft.declared_services() or _draw_services(rng)
    distro = _distro(draft, rng)
    mac = _unique(taken.macs, lambda: _mac(rng))
    hostname = _unique(taken.hostnames, lambda: generate_hostname(distro, rng))
    return DeckySpec(
        name=name,
        ip=str(address),
        mac=mac,
        hostname=hostname,
        distro=distro.slug,
        archetype=draft.archetype.slug if draft.archetype is not None else None,
        nmap_os=_nmap_os(draft, distro),
        services=services,
        # Each decky gets its own copy: DeckySpec is frozen but its dicts are not.
        service_config={service: dict(cfg) for service, cfg in draft.service_config.items()},
        mutate_interval_minutes=draft.mutate_interval_minutes,
    )


def _draw_services(rng: random.Random) -> tuple[str, ...]:
    drawn = rng.sample(SERVICE_NAMES, rng.randint(1, MAX_RANDOM_SERVICES))
    return tuple(sorted(drawn))


def _distro(draft: DeckyDraft, rng: random.Random) -> Distro:
    if draft.distro is not None:
        return draft.distro
    if draft.archetype is not None:
        return DISTROS[draft.archetype.distro]
    return DISTROS[rng.choice(DEFAULT_DISTRO_POOL)]


def _nmap_os(draft: DeckyDraft, distro: Distro) -> str:
    # An explicit distro says more about the OS than the archetype's default does.
    if draft.nmap_os is not None:
        return draft.nmap_os
    if draft.archetype is not None and draft.distro is None:
        return draft.archetype.nmap_os
    return distro.nmap_os


def _mac(rng: random.Random) -> str:
    # 02: is a locally administered unicast prefix, so it never collides with a vendor OUI.
    return "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))


def _unique(taken: set[str], draw: Callable[[], str]) -> str:
    value = draw()
    for _ in range(_UNIQUE_ATTEMPTS):
        if value not in taken:
            break
        value = draw()
    taken.add(value)
    return value
