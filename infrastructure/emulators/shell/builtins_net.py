"""Network commands. They only print: no packet ever leaves the honeypot.

Downloads fail the way a box without outbound access fails (names do not resolve, addresses
refuse), which is what an attacker expects from a locked-down server.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from infrastructure.emulators.shell.state import Command, Outcome, ShellState, split_flags

_WGET_VALUE_FLAGS = frozenset({"-O", "-P", "-o", "-U", "-t", "-T", "--user-agent"})
_CURL_VALUE_FLAGS = frozenset({"-o", "-A", "-H", "-d", "-X", "-u", "-e", "-m", "--output"})


def _broadcast(ip: str) -> str:
    return ".".join([*ip.split(".")[:3], "255"])


def ifconfig(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`ifconfig` (net-tools format) with the decky's own address on eth0."""
    machine = sh.machine
    return Outcome(
        "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n"
        f"        inet {machine.ip}  netmask 255.255.255.0  broadcast {_broadcast(machine.ip)}\n"
        f"        ether {machine.mac}  txqueuelen 1000  (Ethernet)\n"
        "        RX packets 1841220  bytes 1402911873 (1.4 GB)\n"
        "        TX packets 993112  bytes 311245531 (311.2 MB)\n\n"
        "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n"
        "        inet 127.0.0.1  netmask 255.0.0.0\n"
        "        loop  txqueuelen 1000  (Local Loopback)\n\n"
    )


def ip(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`ip a` / `ip addr` / `ip r` / `ip link`."""
    machine = sh.machine
    what = args[0] if args else ""
    if what.startswith("r"):
        gateway = ".".join([*machine.ip.split(".")[:3], "1"])
        network = ".".join([*machine.ip.split(".")[:3], "0"])
        return Outcome(
            f"default via {gateway} dev eth0 proto static\n"
            f"{network}/24 dev eth0 proto kernel scope link src {machine.ip}\n"
        )
    if not what or not ("addr".startswith(what) or "link".startswith(what)):
        return Outcome("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n", 255)
    return Outcome(
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default "
        "qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n"
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group "
        f"default qlen 1000\n    link/ether {machine.mac} brd ff:ff:ff:ff:ff:ff\n"
        f"    inet {machine.ip}/24 brd {_broadcast(machine.ip)} scope global eth0\n"
        "       valid_lft forever preferred_lft forever\n"
    )


def _url(args: list[str], value_flags: frozenset[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in value_flags:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _target(url: str) -> tuple[str, int, bool]:
    """Host, port, and whether the host is an address literal (no name lookup)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or url
    try:
        port = parts.port or (
            443 if parts.scheme == "https" else 21 if parts.scheme == "ftp" else 80
        )
    except ValueError:
        port = 80
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host, port, False
    return host, port, True


def wget(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`wget URL`: name resolution fails, or the address refuses the connection."""
    url = _url(args, _WGET_VALUE_FLAGS)
    if url is None:
        return Outcome("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n", 1)
    if "-q" in args:
        return Outcome("", 4)
    host, port, literal = _target(url)
    head = f"--{sh.now():%Y-%m-%d %H:%M:%S}--  {url}\n"
    if literal:
        return Outcome(f"{head}Connecting to {host}:{port}... failed: Connection refused.\n", 4)
    return Outcome(
        f"{head}Resolving {host} ({host})... failed: Temporary failure in name resolution.\n"
        f"wget: unable to resolve host address \u2018{host}\u2019\n",
        4,
    )


def curl(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`curl URL`: the same failures, in curl's words (quiet under `-s` without `-S`)."""
    flags, _ = split_flags(args)
    url = _url(args, _CURL_VALUE_FLAGS)
    if url is None:
        return Outcome("curl: try 'curl --help' or 'curl --manual' for more information\n", 2)
    host, port, literal = _target(url)
    quiet = "s" in flags and "S" not in flags
    if literal:
        message = (
            f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
            "Couldn't connect to server\n"
        )
        return Outcome("" if quiet else message, 7)
    return Outcome("" if quiet else f"curl: (6) Could not resolve host: {host}\n", 6)


def ping(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`ping host`: names do not resolve, addresses do not answer."""
    target = _url(args, frozenset({"-c", "-i", "-W", "-s", "-w"}))
    if target is None:
        return Outcome("ping: usage error: Destination address required\n", 1)
    host, _, literal = _target(target)
    if not literal:
        return Outcome(f"ping: {host}: Temporary failure in name resolution\n", 2)
    return Outcome(
        f"PING {host} ({host}) 56(84) bytes of data.\n\n--- {host} ping statistics ---\n"
        "4 packets transmitted, 0 received, 100% packet loss, time 3062ms\n\n",
        1,
    )


def netstat(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`netstat -tulpn` / `ss -tlnp`: sshd and the stub resolver listening."""
    return Outcome(
        "Active Internet connections (only servers)\n"
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n"
        "tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n"
        "tcp        0      0 127.0.0.53:53           0.0.0.0:*               LISTEN\n"
        "tcp6       0      0 :::22                   :::*                    LISTEN\n"
    )


COMMANDS: dict[str, Command] = {
    "ifconfig": ifconfig,
    "ip": ip,
    "wget": wget,
    "curl": curl,
    "ping": ping,
    "netstat": netstat,
    "ss": netstat,
}
