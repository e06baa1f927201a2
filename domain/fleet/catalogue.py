"""What a decky can run: services with standard ports and banners, and archetypes (SPEC §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Transport = Literal["tcp", "udp"]

# OS families the runtime knows how to fake at the TCP/IP-stack level (TTL, window, options).
NMAP_OS_FAMILIES: tuple[str, ...] = ("linux", "windows", "bsd", "embedded", "cisco")


@dataclass(frozen=True, slots=True)
class Service:
    """One emulated service; `banner` is the greeting, server header or version it shows."""

    name: str
    port: int
    transport: Transport
    banner: str


@dataclass(frozen=True, slots=True)
class Archetype:
    """A kind of host: its default services, OS and distro, and the pool mutation draws from."""

    slug: str
    services: tuple[str, ...]
    nmap_os: str
    distro: str
    pool: tuple[str, ...]


_SERVICES = (
    Service("ssh", 22, "tcp", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"),
    Service("telnet", 23, "tcp", "Ubuntu 22.04.4 LTS"),
    Service("ftp", 21, "tcp", "220 (vsFTPd 3.0.5)"),
    Service("tftp", 69, "udp", "tftp-hpa 5.2"),
    Service("smtp", 25, "tcp", "220 mail.example.com ESMTP Postfix (Ubuntu)"),
    Service("pop3", 110, "tcp", "+OK Dovecot (Ubuntu) ready."),
    Service("imap", 143, "tcp", "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Ubuntu) ready."),
    Service("http", 80, "tcp", "Apache/2.4.52 (Ubuntu)"),
    Service("https", 443, "tcp", "nginx/1.18.0 (Ubuntu)"),
    Service("ntp", 123, "udp", "ntpd 4.2.8p15@1.3728-o"),
    Service("snmp", 161, "udp", "Linux 5.15.0-105-generic #115-Ubuntu SMP x86_64"),
    Service("ldap", 389, "tcp", "Microsoft Windows Server 2019 Active Directory LDAP"),
    Service("smb", 445, "tcp", "Windows Server 2019 Standard 17763"),
    Service("llmnr", 5355, "udp", "Microsoft Windows LLMNR responder"),
    Service("rdp", 3389, "tcp", "Microsoft Terminal Services"),
    Service("vnc", 5900, "tcp", "RFB 003.008"),
    Service("mssql", 1433, "tcp", "Microsoft SQL Server 2019 (RTM-CU25) 15.0.4355.3"),
    Service("mysql", 3306, "tcp", "8.0.36-0ubuntu0.22.04.1"),
    Service("postgres", 5432, "tcp", "PostgreSQL 14.5 (Ubuntu 14.5-0ubuntu0.22.04.1)"),
    Service("redis", 6379, "tcp", "redis_version:7.0.15"),
    Service("mongodb", 27017, "tcp", "MongoDB 7.0.5"),
    Service("elasticsearch", 9200, "tcp", "Elasticsearch 8.12.2 (lucene 9.9.2)"),
    Service("memcached", 11211, "tcp", "VERSION 1.6.14"),
    Service("mqtt", 1883, "tcp", "mosquitto version 2.0.18"),
    Service("sip", 5060, "udp", "Asterisk PBX 18.10.0"),
    Service("docker_api", 2375, "tcp", "Docker/24.0.7 (linux)"),
    Service("k8s", 6443, "tcp", "kube-apiserver v1.29.2"),
)

SERVICES: Mapping[str, Service] = MappingProxyType({s.name: s for s in _SERVICES})
# Sorted so random draws depend only on the catalogue's content, not on edit order.
SERVICE_NAMES: tuple[str, ...] = tuple(sorted(SERVICES))


def _archetype(slug: str, services: str, nmap_os: str, distro: str, extra: str) -> Archetype:
    base = tuple(services.split())
    return Archetype(slug, base, nmap_os, distro, base + tuple(extra.split()))


_ARCHETYPES = (
    _archetype("windows-workstation", "smb rdp", "windows", "windows-10", "llmnr vnc"),
    _archetype(
        "windows-server", "smb rdp ldap", "windows", "windows-server-2019", "llmnr mssql http"
    ),
    _archetype("domain-controller", "ldap smb rdp llmnr", "windows", "windows-server-2019", "ntp"),
    _archetype("linux-server", "ssh http", "linux", "ubuntu-22.04", "https ftp mysql ntp"),
    _archetype("web-server", "http ftp", "linux", "ubuntu-22.04", "https ssh"),
    _archetype(
        "database-server", "mysql postgres redis", "linux", "debian-12", "mongodb elasticsearch ssh"
    ),
    _archetype("mail-server", "smtp pop3 imap", "linux", "debian-12", "ssh https"),
    _archetype("file-server", "smb ftp ssh", "linux", "rocky-9", "tftp http"),
    _archetype("printer", "snmp ftp", "embedded", "embedded-busybox", "http telnet"),
    _archetype("iot-device", "mqtt snmp telnet", "embedded", "embedded-busybox", "http"),
    _archetype("voip-server", "sip", "linux", "debian-12", "http ssh"),
    _archetype("monitoring-node", "snmp ssh", "linux", "alpine-3.19", "http ntp"),
    _archetype("devops-host", "docker_api ssh k8s", "linux", "ubuntu-22.04", "http redis"),
)

ARCHETYPES: Mapping[str, Archetype] = MappingProxyType({a.slug: a for a in _ARCHETYPES})
