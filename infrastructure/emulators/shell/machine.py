"""The fake host a shell session runs on: name, address, OS flavour, accounts and boot time."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.fleet.distros import DISTROS, Distro

DEFAULT_DISTRO = "ubuntu-22.04"
# Usernames come from attackers: keep what a real `useradd` would take, bounded.
_SAFE_USER = re.compile(r"[^a-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Machine:
    """Everything the fake shell and filesystem render from; immutable for a session."""

    hostname: str
    ip: str
    distro: Distro
    accounts: tuple[str, ...]  # non-root login accounts that exist on the box
    boot_time: datetime

    @property
    def family(self) -> str:
        """ubuntu | debian | centos | rocky | alpine | freebsd | busybox."""
        head = self.distro.slug.split("-")[0]
        return "busybox" if head == "embedded" else head

    @property
    def sysname(self) -> str:
        """`uname -s`."""
        return self.distro.kernel.split()[0]

    @property
    def release(self) -> str:
        """`uname -r`."""
        return self.distro.kernel.split()[1]

    @property
    def version(self) -> str:
        """`uname -v`."""
        return " ".join(self.distro.kernel.split()[2:-1])

    @property
    def arch(self) -> str:
        """`uname -m`."""
        return self.distro.kernel.split()[-1]

    @property
    def mac(self) -> str:
        """A stable locally administered MAC derived from the address (as the runtime does)."""
        octets = [int(part) for part in self.ip.split(".")] if _is_ipv4(self.ip) else [0] * 4
        return "02:42:" + ":".join(f"{o:02x}" for o in octets)

    def uname_all(self) -> str:
        """`uname -a` in the format of the distro's userland."""
        base = f"{self.sysname} {self.hostname} {self.release} {self.version} {self.arch}"
        if self.family == "freebsd":
            return base
        if self.family == "alpine":
            return f"{base} Linux"
        if self.family == "busybox":
            return f"{base} GNU/Linux"
        return f"{base} {self.arch} {self.arch} GNU/Linux"


def build_machine(
    hostname: str, ip: str, distro_slug: str, accounts: tuple[str, ...], now: datetime
) -> Machine:
    """A machine for the decky; Windows or unknown distros get the default Linux userland."""
    distro = DISTROS.get(distro_slug)
    if distro is None or distro.nmap_os == "windows":
        # There is no cmd.exe emulation: an ssh/telnet service on such a decky shows Linux.
        distro = DISTROS[DEFAULT_DISTRO]
    return Machine(hostname, ip, distro, accounts, now - _uptime_for(hostname))


def account_name(raw: str) -> str:
    """A login name made safe for prompts and home directories."""
    name = _SAFE_USER.sub("", raw.lower())[:32]
    return name or "user"


def _uptime_for(hostname: str) -> timedelta:
    # Stable per host so `uptime` does not jump between sessions of the same decky.
    seed = int.from_bytes(hashlib.sha256(hostname.encode()).digest()[:4], "big")
    return timedelta(days=3 + seed % 80, minutes=seed % 1440)


def _is_ipv4(ip: str) -> bool:
    parts = ip.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def utc_now() -> datetime:
    """The wall clock (kept in one place so sessions can be given a fixed one in tests)."""
    return datetime.now(UTC)
