"""`nmap -sV` names every emulated service as the real product of the decky's distro.

Two deckies on loopback with the real emulators: a linux-server (Ubuntu 22.04) with ssh, http,
ftp and telnet, and a database-server (Debian 12) with smtp, mysql, redis and postgres. nmap's
own probes and signature database decide; no service may look like a printer.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from domain.fleet.catalogue import ARCHETYPES
from domain.fleet.decky import DeckySpec
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions
from tests.contract.conftest import make_spec
from tests.fakes import MemorySink

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.nmap,
    pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed"),
]

NMAP_TIMEOUT_S = 120.0  # per scan; a scan of 4 ports takes ~7 s here
WEB = ("ssh", "http", "ftp", "telnet")
DATABASE = ("smtp", "mysql", "redis", "postgres")


def spec_of(name: str, ip: str, archetype: str, services: tuple[str, ...]) -> DeckySpec:
    """A decky of `archetype` (its distro and OS family) running `services`."""
    kind = ARCHETYPES[archetype]
    spec = make_spec(name, ip, services, hostname=f"{name}-prod-01")
    return replace(spec, archetype=archetype, distro=kind.distro, nmap_os=kind.nmap_os)


@pytest.fixture
async def deckies(tmp_path: Path) -> AsyncIterator[dict[str, tuple[str, Mapping[str, int]]]]:
    """Both deckies running; name -> (ip, ports by service)."""
    store = ArtifactStore(tmp_path / "artifacts")
    registry = emulator_handlers(EmulatorDeps(store, tmp_path / "tls", tmp_path / "keys"))
    runtime = LocalRuntime(MemorySink(), LocalRuntimeOptions(idle_timeout=30.0), handlers=registry)
    specs = [
        spec_of("web", "127.84.0.2", "linux-server", WEB),
        spec_of("db", "127.84.0.3", "database-server", DATABASE),
    ]
    try:
        running: dict[str, tuple[str, Mapping[str, int]]] = {}
        for spec in specs:
            report = await runtime.apply(spec)
            assert report.status == "running", report
            running[spec.name] = (spec.ip, report.ports)
        yield running
    finally:
        await runtime.close()


async def scan(ip: str, ports: Mapping[str, int]) -> dict[str, dict[str, str]]:
    """nmap -sV's verdict per service: the attributes of each port's <service> element."""
    port_list = ",".join(str(p) for p in ports.values())
    command = ["nmap", "-sV", "-Pn", "-n", "-p", port_list, "-oX", "-", ip]
    with anyio.fail_after(NMAP_TIMEOUT_S):
        result = await anyio.run_process(command, stderr=subprocess.PIPE)
    root = ET.fromstring(result.stdout)  # noqa: S314 -- nmap's own output, not foreign data
    by_port = {}
    for port in root.iter("port"):
        service = port.find("service")
        by_port[int(port.get("portid", "0"))] = dict(service.attrib) if service is not None else {}
    return {name: by_port.get(port, {}) for name, port in ports.items()}


async def test_nmap_names_every_service_of_both_deckies(
    deckies: dict[str, tuple[str, Mapping[str, int]]],
) -> None:
    """Products and versions as on real hosts of these distros; no printer, no '?' guess."""
    verdicts: dict[str, dict[str, dict[str, str]]] = {}

    async def run(name: str) -> None:
        ip, ports = deckies[name]
        verdicts[name] = await scan(ip, ports)

    async with anyio.create_task_group() as group:
        for name in deckies:
            group.start_soon(run, name)
    web, db = verdicts["web"], verdicts["db"]
    assert (web["ssh"]["product"], web["ssh"]["version"]) == ("OpenSSH", "8.9p1 Ubuntu 3ubuntu0.10")
    assert web["ssh"]["extrainfo"].startswith("Ubuntu Linux")
    assert (web["http"]["product"], web["http"]["version"]) == ("Apache httpd", "2.4.52")
    assert (web["ftp"]["product"], web["ftp"]["version"]) == ("vsftpd", "3.0.5")
    assert (web["telnet"]["product"], web["telnet"]["ostype"]) == ("Linux telnetd", "Linux")
    assert db["smtp"]["product"] == "Postfix smtpd"
    assert (db["mysql"]["product"], db["mysql"]["version"]) == ("MySQL", "8.0.36")
    assert (db["redis"]["product"], db["redis"]["version"]) == ("Redis key-value store", "7.0.15")
    # 15.20's line is newer than nmap 7.93's table: the real server gets this same range.
    assert (db["postgres"]["name"], db["postgres"]["product"]) == ("postgresql", "PostgreSQL DB")
    assert db["postgres"]["version"] == "9.6.0 or later"
    every = [*web.values(), *db.values()]
    assert all(service.get("method") == "probed" for service in every), every
    assert not [s for s in every if s.get("devicetype")], every
