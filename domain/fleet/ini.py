"""The fleet INI (SPEC §4): text in, a `FleetPlan` out, or a `FleetError` naming section and key."""

from __future__ import annotations

import configparser
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from domain.fleet.allocation import DEFAULT_NET, check_host_address, parse_address, parse_network
from domain.fleet.catalogue import SERVICES
from domain.fleet.errors import FleetConflictError, IniInvalidError
from domain.fleet.names import DECKY_NAME_RULE, is_decky_name
from domain.fleet.plan import FleetPlan, FleetView, plan_deckies
from domain.fleet.sections import DeckyDraft, parse_decky_section, parse_interval_value
from domain.fleet.service_settings import check_service_settings

__all__ = ["MAX_INI_BYTES", "FleetPlan", "FleetView", "parse_fleet_ini"]

MAX_INI_BYTES = 512 * 1024
GENERAL = "general"
GENERAL_KEYS = ("net", "gw", "interface", "mutate_interval")
_INTERFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")  # what Linux accepts as a NIC name
# Tab, CR and LF are layout; any other control character (NUL above all) cannot be stored or shown.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _General:
    net: IPv4Network | None = None
    gw: IPv4Address | None = None
    interface: str | None = None
    mutate_interval_minutes: int | None = None


def parse_fleet_ini(text: str, *, rng: random.Random, existing: FleetView) -> FleetPlan:
    """Validate an INI against the fleet and plan its deckies; deterministic for an rng seed."""
    parser = _read(text)
    general = _parse_general(_values(parser, GENERAL) if parser.has_section(GENERAL) else {})
    # Everything wrong with the INI on its own (422) is reported before any conflict (409).
    network = general.net or existing.network
    gateway = general.gw or existing.gateway_address
    if general.gw is not None:
        check_host_address(GENERAL, "gw", general.gw, network)
    ignored: list[str] = []
    drafts = _parse_deckies(parser, network, gateway, ignored)
    _check_agrees_with_fleet(general, existing)
    deckies, unchanged = plan_deckies(
        drafts,
        network or IPv4Network(DEFAULT_NET),
        gateway,
        existing,
        rng,
        default_interval=general.mutate_interval_minutes,
    )
    return FleetPlan(
        net=str(network) if network is not None else None,
        gw=str(gateway) if gateway is not None else None,
        interface=general.interface,
        mutate_interval_minutes=general.mutate_interval_minutes,
        deckies=deckies,
        unchanged=unchanged,
        ignored=tuple(ignored),
    )


class _IniParser(configparser.ConfigParser):
    """Strict, no interpolation, keys kept as written, and no DEFAULT section."""

    # The stock option pattern backtracks quadratically on long runs of whitespace (seconds for
    # a 16 KiB line); an option that can neither start nor end with whitespace makes it linear.
    OPTCRE = re.compile(r"(?P<option>[^=:\s](?:[^=:]*[^=:\s])?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")

    def __init__(self) -> None:
        # No header can contain a newline, so no section can become DEFAULT and leak its keys
        # into every other section.
        super().__init__(interpolation=None, strict=True, default_section="\n")

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _read(text: str) -> configparser.ConfigParser:
    _check_text(text)
    parser = _IniParser()
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise _as_invalid(error) from None
    return parser


def _check_text(text: str) -> None:
    try:
        size = len(text.encode("utf-8")) if len(text) <= MAX_INI_BYTES else len(text)
    except UnicodeEncodeError:
        raise IniInvalidError(None, None, "the INI is not valid UTF-8 text") from None
    if size > MAX_INI_BYTES:
        raise IniInvalidError(None, None, "the INI is larger than 512 KiB")
    if (found := _CONTROL_CHARS.search(text)) is not None:
        raise IniInvalidError(None, None, f"the INI contains the control character {found[0]!r}")


def _as_invalid(error: configparser.Error) -> IniInvalidError:
    if isinstance(error, configparser.DuplicateSectionError):
        return IniInvalidError(error.section, None, f"duplicate section{_at(error.lineno)}")
    if isinstance(error, configparser.DuplicateOptionError):
        return IniInvalidError(error.section, error.option, f"duplicate key{_at(error.lineno)}")
    if isinstance(error, configparser.MissingSectionHeaderError):
        reason = f"line {error.lineno}: {_clip(repr(error.line))} comes before any [section]"
        return IniInvalidError(None, None, reason)
    if isinstance(error, configparser.ParsingError) and error.errors:
        lineno, line = error.errors[0]  # configparser already repr()s the line
        return IniInvalidError(None, None, f"line {lineno}: cannot parse {_clip(line)}")
    return IniInvalidError(None, None, f"cannot parse the INI: {error.message}")


def _at(lineno: int | None) -> str:
    return f" (line {lineno})" if lineno is not None else ""


def _clip(shown: str, limit: int = 80) -> str:
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _values(parser: configparser.ConfigParser, section: str) -> dict[str, str]:
    return dict(parser.items(section))


def _parse_general(values: Mapping[str, str]) -> _General:
    for key in values:
        if key not in GENERAL_KEYS:
            expected = ", ".join(GENERAL_KEYS)
            raise IniInvalidError(GENERAL, key, f"unknown key (expected one of: {expected})")
    net, gw, interface = values.get("net"), values.get("gw"), values.get("interface")
    if interface is not None and _INTERFACE.fullmatch(interface) is None:
        raise IniInvalidError(
            GENERAL, "interface", f"{interface!r} is not a network interface name"
        )
    return _General(
        net=parse_network(GENERAL, "net", net) if net is not None else None,
        gw=parse_address(GENERAL, "gw", gw) if gw is not None else None,
        interface=interface,
        mutate_interval_minutes=parse_interval_value(GENERAL, values.get("mutate_interval")),
    )


def _parse_deckies(
    parser: configparser.ConfigParser,
    network: IPv4Network | None,
    gateway: IPv4Address | None,
    ignored: list[str],
) -> tuple[DeckyDraft, ...]:
    sections = [section for section in parser.sections() if section != GENERAL]
    for section in sections:
        _check_section_name(section)
    drafts: dict[str, DeckyDraft] = {}
    for section in sections:
        if "." not in section:
            drafts[section] = parse_decky_section(
                section, _values(parser, section), network, gateway
            )
    # Service subsections may come before their decky section, so they are applied afterwards.
    for section in sections:
        if "." in section:
            _apply_service_settings(drafts, section, _values(parser, section), ignored)
    if not drafts:
        raise IniInvalidError(None, None, "the INI defines no decky sections")
    return tuple(drafts.values())


def _check_section_name(section: str) -> None:
    """A dotted section must be `[<decky>.<service>]` (plain decky names are checked later)."""
    decky, dot, service = section.partition(".")
    if not dot or (is_decky_name(decky) and service and "." not in service):
        return
    reason = (
        f"section name {_clip(repr(section))} is neither [general], a decky name"
        f" ({DECKY_NAME_RULE}) nor <decky>.<service>"
    )
    raise IniInvalidError(section, None, reason)


def _apply_service_settings(
    drafts: dict[str, DeckyDraft], section: str, values: dict[str, str], ignored: list[str]
) -> None:
    decky, _, service = section.partition(".")
    draft = drafts.get(decky)
    if draft is None:
        raise IniInvalidError(
            section, None, f"there is no [{decky}] decky section for these settings"
        )
    if service not in SERVICES:
        raise IniInvalidError(section, None, f"unknown service {service!r}")
    if service not in (draft.declared_services() or ()):
        raise IniInvalidError(section, None, f"{service!r} is not one of the services of [{decky}]")
    ignored.extend(f"[{section}] {key}" for key in check_service_settings(section, service, values))
    drafts[decky] = replace(draft, service_config={**draft.service_config, service: values})


def _check_agrees_with_fleet(general: _General, existing: FleetView) -> None:
    fleet_net, fleet_gw = existing.network, existing.gateway_address
    if general.net is not None and fleet_net is not None and general.net != fleet_net:
        reason = f"{general.net} contradicts the fleet's network {fleet_net}"
        raise FleetConflictError(GENERAL, "net", reason)
    if general.gw is not None and fleet_gw is not None and general.gw != fleet_gw:
        raise FleetConflictError(
            GENERAL, "gw", f"{general.gw} contradicts the fleet's gateway {fleet_gw}"
        )
