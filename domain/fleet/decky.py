"""Value objects describing a decky: what the fleet wants to exist."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DeckySpec:
    """Everything needed to (re)build one decky; recorded whole in `DeckyDeployed`."""

    name: str
    ip: str
    mac: str
    hostname: str
    distro: str
    archetype: str | None
    nmap_os: str
    services: tuple[str, ...]
    service_config: dict[str, dict[str, str]] = field(default_factory=dict)
    mutate_interval_minutes: int | None = None
