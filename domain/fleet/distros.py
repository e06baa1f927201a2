"""OS flavours a decky can wear, and hostnames that look like each flavour's defaults."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

HostnameStyle = Literal["windows-desktop", "windows-server", "linux-server", "device"]


@dataclass(frozen=True, slots=True)
class Distro:
    """One OS flavour: how it names itself, its kernel/uname line and its nmap OS family."""

    slug: str
    display_name: str
    kernel: str
    nmap_os: str
    hostname_style: HostnameStyle


_DISTROS = (
    Distro(
        "ubuntu-22.04",
        "Ubuntu 22.04.4 LTS",
        "Linux 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024 x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "ubuntu-20.04",
        "Ubuntu 20.04.6 LTS",
        "Linux 5.4.0-182-generic #202-Ubuntu SMP Fri Apr 26 12:29:36 UTC 2024 x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "debian-12",
        "Debian GNU/Linux 12 (bookworm)",
        "Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "debian-11",
        "Debian GNU/Linux 11 (bullseye)",
        "Linux 5.10.0-28-amd64 #1 SMP Debian 5.10.209-2 (2024-01-31) x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "centos-7",
        "CentOS Linux 7 (Core)",
        "Linux 3.10.0-1160.119.1.el7.x86_64 #1 SMP Tue Jun 4 14:43:51 UTC 2024 x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "rocky-9",
        "Rocky Linux 9.3 (Blue Onyx)",
        "Linux 5.14.0-362.18.1.el9_3.x86_64 #1 SMP PREEMPT_DYNAMIC Mon Jan 29 2024 x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "alpine-3.19",
        "Alpine Linux v3.19",
        "Linux 6.6.16-0-lts #1-Alpine SMP PREEMPT_DYNAMIC Fri, 09 Feb 2024 06:18:55 +0000 x86_64",
        "linux",
        "linux-server",
    ),
    Distro(
        "freebsd-14",
        "FreeBSD 14.0-RELEASE",
        "FreeBSD 14.0-RELEASE releng/14.0-n265380-f9716eee8ab4 GENERIC amd64",
        "bsd",
        "linux-server",
    ),
    Distro(
        "windows-server-2019",
        "Windows Server 2019 Standard",
        "Microsoft Windows [Version 10.0.17763.5458]",
        "windows",
        "windows-server",
    ),
    Distro(
        "windows-server-2022",
        "Windows Server 2022 Standard",
        "Microsoft Windows [Version 10.0.20348.2322]",
        "windows",
        "windows-server",
    ),
    Distro(
        "windows-10",
        "Windows 10 Pro",
        "Microsoft Windows [Version 10.0.19045.4170]",
        "windows",
        "windows-desktop",
    ),
    Distro(
        "windows-11",
        "Windows 11 Pro",
        "Microsoft Windows [Version 10.0.22631.3296]",
        "windows",
        "windows-desktop",
    ),
    Distro(
        "embedded-busybox",
        "Embedded Linux (BusyBox v1.36.1)",
        "Linux 4.14.98 #1 PREEMPT Tue Nov 7 21:45:12 UTC 2023 armv7l",
        "embedded",
        "device",
    ),
)

DISTROS: Mapping[str, Distro] = MappingProxyType({d.slug: d for d in _DISTROS})
# A decky with neither distro nor archetype gets a plain Linux server; Windows or firmware
# flavours would contradict the random services it may be given.
DEFAULT_DISTRO_POOL: tuple[str, ...] = tuple(
    d.slug for d in _DISTROS if d.nmap_os == "linux" and d.hostname_style == "linux-server"
)

_ROLES = ("srv", "app", "web", "db", "api", "files", "backup", "build", "mon", "proxy", "cache")
_SITES = ("prod", "stg", "dev", "int", "dmz", "core", "ops", "lab")
_DEVICES = ("cam", "nvr", "printer", "sensor", "gw", "hub", "ap")
_WINDOWS_ALPHABET = string.ascii_uppercase + string.digits


def generate_hostname(distro: Distro, rng: random.Random) -> str:
    """Draw a hostname in the style the distro's installer or admins would typically use."""
    style = distro.hostname_style
    if style == "windows-desktop":
        # Windows setup names machines DESKTOP-XXXXXXX (15 chars, the NetBIOS limit).
        return "DESKTOP-" + _random_chars(rng, 7)
    if style == "windows-server":
        return "WIN-" + _random_chars(rng, 11)
    if style == "device":
        return f"{rng.choice(_DEVICES)}-{rng.getrandbits(24):06x}"
    return f"{rng.choice(_ROLES)}-{rng.choice(_SITES)}-{rng.randint(1, 99):02d}"


def _random_chars(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(_WINDOWS_ALPHABET) for _ in range(count))
