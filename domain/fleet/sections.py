"""One `[decky]` section of the fleet INI, checked on its own before the fleet is consulted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from domain.fleet.allocation import check_host_address, parse_address
from domain.fleet.catalogue import ARCHETYPES, NMAP_OS_FAMILIES, SERVICES, Archetype
from domain.fleet.distros import DISTROS, Distro
from domain.fleet.durations import parse_interval
from domain.fleet.errors import IniInvalidError, InvalidDurationError
from domain.fleet.names import DECKY_NAME_RULE, is_decky_name

MAX_AMOUNT = 100
DECKY_KEYS = ("services", "archetype", "ip", "nmap_os", "distro", "mutate_interval", "amount")
_AMOUNT = re.compile(r"[0-9]{1,3}")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DeckyDraft:
    """A valid decky section whose names, IPs and random picks are not settled yet."""

    section: str
    amount: int | None = None
    services: tuple[str, ...] | None = None
    archetype: Archetype | None = None
    distro: Distro | None = None
    nmap_os: str | None = None
    ip: IPv4Address | None = None
    mutate_interval_minutes: int | None = None
    service_config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """How many deckies the section stands for."""
        return self.amount if self.amount is not None else 1

    def names(self) -> tuple[str, ...]:
        """The decky names, `<name>-01`, `<name>-02`, … when `amount` is given."""
        if self.amount is None:
            return (self.section,)
        return tuple(f"{self.section}-{index:02d}" for index in range(1, self.amount + 1))

    def declared_services(self) -> tuple[str, ...] | None:
        """Services known before any random draw: listed, else the archetype's, else None."""
        if self.services is not None:
            return self.services
        return self.archetype.services if self.archetype is not None else None


def parse_decky_section(
    section: str,
    values: Mapping[str, str],
    network: IPv4Network | None,
    gateway: IPv4Address | None,
) -> DeckyDraft:
    """Validate one `[decky]` section; `network`/`gateway` are the ones already known, if any."""
    _check_name(section, section)
    for key in values:
        if key not in DECKY_KEYS:
            raise IniInvalidError(
                section, key, f"unknown key (expected one of: {', '.join(DECKY_KEYS)})"
            )
    draft = DeckyDraft(
        section=section,
        amount=_amount(section, values.get("amount")),
        services=_services(section, values.get("services")),
        archetype=_lookup(section, "archetype", values.get("archetype"), ARCHETYPES),
        distro=_lookup(section, "distro", values.get("distro"), DISTROS),
        nmap_os=_nmap_os(section, values.get("nmap_os")),
        ip=_ip(section, values.get("ip"), network, gateway),
        mutate_interval_minutes=parse_interval_value(section, values.get("mutate_interval")),
    )
    if draft.amount is not None and draft.ip is not None:
        raise IniInvalidError(section, "amount", "cannot be combined with ip")
    _check_name(section, draft.names()[-1])  # the longest expanded name
    return draft


def parse_interval_value(section: str, value: str | None) -> int | None:
    """Read `mutate_interval` (`30m` syntax or integer minutes) as minutes."""
    if value is None:
        return None
    try:
        return parse_interval(value)
    except InvalidDurationError as error:
        raise IniInvalidError(section, "mutate_interval", error.reason) from None


def _check_name(section: str, name: str) -> None:
    if not is_decky_name(name):
        raise IniInvalidError(section, None, f"decky name {name!r} must match {DECKY_NAME_RULE}")


def _amount(section: str, value: str | None) -> int | None:
    if value is None:
        return None
    if _AMOUNT.fullmatch(value) is None or not 1 <= int(value) <= MAX_AMOUNT:
        raise IniInvalidError(
            section, "amount", f"{value!r} is not a whole number from 1 to {MAX_AMOUNT}"
        )
    return int(value)


def _services(section: str, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise IniInvalidError(section, "services", "lists no services")
    for name in names:
        if name not in SERVICES:
            raise IniInvalidError(section, "services", f"unknown service {name!r}")
    return tuple(dict.fromkeys(names))  # duplicates dropped, order kept


def _lookup(section: str, key: str, value: str | None, known: Mapping[str, _T]) -> _T | None:
    if value is None:
        return None
    if value not in known:
        raise IniInvalidError(section, key, f"unknown {key} {value!r} (known: {', '.join(known)})")
    return known[value]


def _nmap_os(section: str, value: str | None) -> str | None:
    if value is None or value in NMAP_OS_FAMILIES:
        return value
    raise IniInvalidError(
        section, "nmap_os", f"unknown OS family {value!r} (known: {', '.join(NMAP_OS_FAMILIES)})"
    )


def _ip(
    section: str, value: str | None, network: IPv4Network | None, gateway: IPv4Address | None
) -> IPv4Address | None:
    if value is None:
        return None
    address = parse_address(section, "ip", value)
    check_host_address(section, "ip", address, network)
    if address == gateway:
        raise IniInvalidError(section, "ip", f"{address} is the gateway")
    return address
