"""The service catalogue, archetypes (SPEC §4) and distros with their hostname styles."""

from __future__ import annotations

import random
import re

import pytest

from domain.fleet.catalogue import ARCHETYPES, NMAP_OS_FAMILIES, SERVICES
from domain.fleet.distros import DEFAULT_DISTRO_POOL, DISTROS, generate_hostname

SPEC_ARCHETYPES = {
    "windows-workstation": ("smb", "rdp"),
    "windows-server": ("smb", "rdp", "ldap"),
    "domain-controller": ("ldap", "smb", "rdp", "llmnr"),
    "linux-server": ("ssh", "http"),
    "web-server": ("http", "ftp"),
    "database-server": ("mysql", "postgres", "redis"),
    "mail-server": ("smtp", "pop3", "imap"),
    "file-server": ("smb", "ftp", "ssh"),
    "printer": ("snmp", "ftp"),
    "iot-device": ("mqtt", "snmp", "telnet"),
    "voip-server": ("sip",),
    "monitoring-node": ("snmp", "ssh"),
    "devops-host": ("docker_api", "ssh", "k8s"),
}
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def test_archetypes_are_exactly_the_spec_ones() -> None:
    """Every SPEC archetype exists with its services in SPEC order, and no others."""
    assert {slug: a.services for slug, a in ARCHETYPES.items()} == SPEC_ARCHETYPES


@pytest.mark.parametrize("archetype", sorted(SPEC_ARCHETYPES))
def test_archetype_references_are_consistent(archetype: str) -> None:
    """An archetype's pool holds its services, all in the catalogue, and its distro exists."""
    found = ARCHETYPES[archetype]
    assert set(found.services) <= set(found.pool) <= set(SERVICES)
    assert len(set(found.pool)) == len(found.pool)
    assert found.distro in DISTROS
    assert found.nmap_os in NMAP_OS_FAMILIES


@pytest.mark.parametrize(
    ("name", "port", "transport"),
    [
        ("ssh", 22, "tcp"),
        ("ftp", 21, "tcp"),
        ("telnet", 23, "tcp"),
        ("smtp", 25, "tcp"),
        ("http", 80, "tcp"),
        ("https", 443, "tcp"),
        ("smb", 445, "tcp"),
        ("rdp", 3389, "tcp"),
        ("mysql", 3306, "tcp"),
        ("postgres", 5432, "tcp"),
        ("redis", 6379, "tcp"),
        ("snmp", 161, "udp"),
        ("llmnr", 5355, "udp"),
        ("sip", 5060, "udp"),
        ("tftp", 69, "udp"),
        ("ntp", 123, "udp"),
        ("vnc", 5900, "tcp"),
        ("mssql", 1433, "tcp"),
    ],
)
def test_services_use_standard_ports(name: str, port: int, transport: str) -> None:
    """Services listen on their well-known port and transport."""
    assert (SERVICES[name].port, SERVICES[name].transport) == (port, transport)


def test_every_service_has_a_banner_and_a_valid_port() -> None:
    """Banner-only emulators always have something to say, on a real port."""
    for service in SERVICES.values():
        assert service.banner.strip(), service.name
        assert 1 <= service.port <= 65535
        assert service.transport in ("tcp", "udp")


def test_well_known_banners() -> None:
    """Banners look like the real daemons' greetings."""
    assert SERVICES["ssh"].banner.startswith("SSH-2.0-OpenSSH_")
    assert SERVICES["ftp"].banner.startswith("220 ")
    assert SERVICES["smtp"].banner.startswith("220 ")
    assert "ESMTP" in SERVICES["smtp"].banner


def test_distros_are_complete() -> None:
    """Every distro has a display name, kernel line and known nmap OS family."""
    assert {"ubuntu-22.04", "debian-12", "centos-7", "rocky-9", "alpine-3.19"} <= set(DISTROS)
    assert {"windows-server-2019", "windows-10"} <= set(DISTROS)
    for distro in DISTROS.values():
        assert distro.display_name
        assert distro.kernel
        assert distro.nmap_os in NMAP_OS_FAMILIES


def test_default_pool_is_plain_linux() -> None:
    """Deckies with neither distro nor archetype only get Linux server distros."""
    assert DEFAULT_DISTRO_POOL
    assert all(DISTROS[slug].nmap_os == "linux" for slug in DEFAULT_DISTRO_POOL)


@pytest.mark.parametrize("slug", sorted(DISTROS))
def test_hostnames_are_valid_and_deterministic(slug: str) -> None:
    """Generated hostnames are RFC 1123 labels and depend only on the rng seed."""
    first = [generate_hostname(DISTROS[slug], random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    for seed in range(50):
        assert HOSTNAME.fullmatch(generate_hostname(DISTROS[slug], random.Random(seed)))


@pytest.mark.parametrize(
    ("slug", "pattern"),
    [
        ("windows-10", r"DESKTOP-[A-Z0-9]{7}"),
        ("windows-server-2019", r"WIN-[A-Z0-9]{11}"),
        ("embedded-busybox", r"[a-z]+-[0-9a-f]{6}"),
        ("ubuntu-22.04", r"[a-z]+-[a-z]+-[0-9]{2}"),
    ],
)
def test_hostname_styles(slug: str, pattern: str) -> None:
    """Each style mimics how such machines are typically named."""
    assert re.fullmatch(pattern, generate_hostname(DISTROS[slug], random.Random(3)))
