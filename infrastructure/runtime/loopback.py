"""Loopback addresses for local deckies: validate them and make sure they are bindable."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket

import structlog

log = structlog.get_logger()

LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")


class LoopbackError(Exception):
    """The decky's address cannot be used by the local runtime."""


def check_loopback(ip: str) -> None:
    """Raise LoopbackError unless `ip` is an IPv4 address in 127.0.0.0/8."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise LoopbackError(f"the local runtime needs a 127.0.0.0/8 address, got {ip!r}") from exc
    if address not in LOOPBACK_NET:
        raise LoopbackError(f"the local runtime needs a 127.0.0.0/8 address, got {ip}")


def _bindable(ip: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise LoopbackError(f"cannot bind {ip}: {exc}") from exc
    return True


async def ensure_bindable(ip: str) -> None:
    """Make `ip` bindable on `lo`.

    Linux routes all of 127.0.0.0/8 to `lo` already; other systems (or a host whose `lo` only
    carries 127.0.0.1/32) need the address added, which takes root.
    """
    if _bindable(ip):
        return
    reason = await _add_to_lo(ip)
    if not _bindable(ip):
        raise LoopbackError(f"cannot bind {ip} on lo: {reason or 'address not available'}")


async def _add_to_lo(ip: str) -> str:
    """Run `ip addr add <ip>/32 dev lo`; return its error output ('' on success)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "ip",
            "addr",
            "add",
            f"{ip}/32",
            "dev",
            "lo",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await proc.communicate()
    except OSError as exc:  # no `ip` binary on this host
        return str(exc)
    log.info("runtime_loopback_added", ip=ip, returncode=proc.returncode)
    return stderr.decode(errors="replace").strip()
