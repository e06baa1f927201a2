"""Re-deploying an INI: when a decky the fleet already has counts as the same decky.

The rule (docs/fleet.md "Re-deploying an INI"): an existing decky is the INI's decky when every
value the INI writes for it explicitly agrees with how the decky was deployed. Values the INI
leaves out — random services, IP, MAC, hostname, a distro implied by the archetype — are not
compared, since a second planning would draw them afresh. What happened after the deploy
(mutations, an interval set through the API) is not compared either: it is the decky's life,
not its definition. A decky that agrees is kept as it is; one that disagrees is a conflict.
"""

from __future__ import annotations

from collections.abc import Iterator

from domain.fleet.decky import DeckySpec
from domain.fleet.durations import format_duration
from domain.fleet.errors import FleetConflictError
from domain.fleet.sections import DeckyDraft

_NONE = "none"


def check_same_decky(
    draft: DeckyDraft, name: str, deployed: DeckySpec, default_interval: int | None
) -> None:
    """Refuse (409) when the section's explicit values contradict decky `name` as deployed."""
    for key, wanted, have in _explicit_values(draft, deployed, default_interval):
        if wanted != have:
            reason = f"decky {name!r} already exists with {key} {have}; the INI asks for {wanted}"
            raise FleetConflictError(draft.section, key, reason)
    for service, settings in draft.service_config.items():
        deployed_settings = deployed.service_config.get(service, {})
        if dict(settings) != deployed_settings:
            # Only key names are shown: the values may be passwords.
            differing = sorted(
                key
                for key in {*settings, *deployed_settings}
                if settings.get(key) != deployed_settings.get(key)
            )
            reason = (
                f"decky {name!r} already exists with other [{draft.section}.{service}] settings"
                f" (differing: {', '.join(differing)})"
            )
            raise FleetConflictError(f"{draft.section}.{service}", None, reason)


def _explicit_values(
    draft: DeckyDraft, deployed: DeckySpec, default_interval: int | None
) -> Iterator[tuple[str, str, str]]:
    """(key, the INI's value, the deployed value) for each value the INI gives explicitly."""
    if draft.archetype is not None:
        yield "archetype", draft.archetype.slug, deployed.archetype or _NONE
    if draft.services is not None:
        yield "services", _services(draft.services), _services(deployed.services)
    if draft.distro is not None:
        yield "distro", draft.distro.slug, deployed.distro
    if draft.nmap_os is not None:
        yield "nmap_os", draft.nmap_os, deployed.nmap_os
    if draft.ip is not None:
        yield "ip", str(draft.ip), deployed.ip
    interval = draft.mutate_interval_minutes
    if interval is None:
        interval = default_interval  # [general] mutate_interval applies to every INI decky
    if interval is not None:
        have = deployed.mutate_interval_minutes
        yield "mutate_interval", format_duration(interval), _interval(have)


def _services(services: tuple[str, ...]) -> str:
    # A set of services: the order they are listed in does not make another decky.
    return ", ".join(sorted(services))


def _interval(minutes: int | None) -> str:
    return format_duration(minutes) if minutes is not None else _NONE
