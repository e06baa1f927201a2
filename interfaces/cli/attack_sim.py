"""`decnet attack-sim`: real clients against the running fleet, so a newcomer sees data flow.

Every client is bound to one loopback source address, so the server sees a single attacker
moving across deckies. Only loopback decky addresses are ever contacted (anything else is
refused before a packet is sent) and every network call carries a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import ftplib
import http.client
import io
import ipaddress
import os
import re
import socket
import ssl
import sys
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from interfaces.cli.api_client import DEFAULT_URL, ApiClient, ApiError, connect

DEFAULT_SOURCE = "127.0.0.66"
TIMEOUT_S = 5.0  # every connect, read and login
PROJECTION_WAIT_S = 8.0  # how long to wait for the attacker profile before printing the link
WRONG_PASSWORDS = ("123456", "password", "admin", "toor")
NIKTO = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)"
SQLMAP = "sqlmap/1.7#stable (https://sqlmap.org)"
BASIC_ADMIN = "Basic " + b64encode(b"admin:admin").decode()
HTTP_PROBES = (  # method, path, user agent, extra headers, form body
    ("GET", "/", NIKTO, {}, None),
    ("GET", "/.env", NIKTO, {}, None),
    ("GET", "/admin/", NIKTO, {"Authorization": BASIC_ADMIN}, None),
    ("GET", "/index.php?id=1%27%20AND%201%3D1--%20-", SQLMAP, {}, None),
    ("POST", "/login", SQLMAP, {}, "username=admin&password=Welcome1%21"),
)
TOOL_LABELS = {NIKTO: "nikto", SQLMAP: "sqlmap"}
SHELL_COMMANDS = ("uname -a", "id", "cat /etc/passwd", "ls -la /tmp")
EXEC_COMMAND = "cat /etc/os-release"
UPLOAD_PATH = "/tmp/.attack-sim.sh"  # noqa: S108 (a path on the decky's fake filesystem)
ANY, ANY_PASSWORD = "*", "attack-sim"  # an INI `users` password `*` accepts any password
_IAC = re.compile(rb"\xff\xfa.*?\xff\xf0|\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", re.DOTALL)


def add_attack_sim_command(commands: Any) -> None:
    """Register `decnet attack-sim` on the `decnet` parser."""
    sim = commands.add_parser("attack-sim", help="drive real attack clients against the fleet")
    sim.add_argument("--url", default=os.environ.get("DECNET_CLI_URL", DEFAULT_URL))
    sim.add_argument("--token", help="bearer token (default: $DECNET_CLI_TOKEN)")
    sim.add_argument("--user", help="log in as this user (default: $DECNET_CLI_USER or admin)")
    sim.add_argument("--password", help="password (default: $DECNET_CLI_PASSWORD or a prompt)")
    sim.add_argument("--decky", action="append", help="only this decky (repeatable)")
    sim.add_argument("--source-ip", default=DEFAULT_SOURCE, help=f"default {DEFAULT_SOURCE}")
    sim.add_argument("--quick", action="store_true", help="one decky per service, fewer guesses")


@dataclass(frozen=True, slots=True)
class Target:
    """A running decky on a loopback address: where each service listens, its INI settings."""

    name: str
    ip: str
    ports: dict[str, int]
    config: dict[str, dict[str, str]]

    def login(self, service: str) -> tuple[str, str] | None:
        """A (user, password) the INI lets in, else None."""
        settings = self.config.get(service, {})
        for entry in settings.get("users", "").split(","):
            user, sep, secret = entry.strip().partition(":")
            if sep and user:
                return user, ANY_PASSWORD if secret == ANY else secret
        password = settings.get("password")
        if password and service in ("ssh", "telnet"):
            return "root", password
        if password and service == "redis":
            return "default", password
        return None


@dataclass
class Sim:
    """What one run drives and what it did."""

    source: str
    quick: bool
    actions: int = 0
    failures: list[str] = field(default_factory=list)

    def note(self, service: str, target: Target, text: str) -> None:
        """Print one line of what was done (and count it)."""
        self.actions += 1
        print(f"  {service:<7}{target.name:<16}{text}", flush=True)

    def failed(self, service: str, target: Target, exc: BaseException) -> None:
        """A step that could not finish: say so and go on with the next one."""
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.failures.append(f"{service}@{target.name}")
        print(f"  {service:<7}{target.name:<16}failed ({reason[:120]})", flush=True)

    @property
    def guesses(self) -> tuple[str, ...]:
        return WRONG_PASSWORDS[:2] if self.quick else WRONG_PASSWORDS[:3]

    def bind(self) -> tuple[str, int]:
        return (self.source, 0)


def run_attack_sim(args: argparse.Namespace) -> int:
    """The command: list the fleet, attack what runs on loopback, print where to look."""
    source = _loopback_source(args.source_ip)
    if source is None:
        print(f"decnet: --source-ip {args.source_ip!r} must be an IPv4 loopback address",
              file=sys.stderr)  # fmt: skip
        return 2
    sim = Sim(source, args.quick)
    try:
        client = connect(args.url, args.token, args.user, args.password)
        _, fleet = client.request("GET", "/deckies")
        targets = select_targets(fleet, args.decky)
        if not targets:
            return 1
        started = time.monotonic()
        attack(targets, sim)
        print(f"Done in {time.monotonic() - started:.1f} s: {sim.actions} actions", end="")
        print(f", {len(sim.failures)} failed ({', '.join(sim.failures)})" if sim.failures else "")
        show_attacker(client, args.url, source)
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    return 0 if sim.actions else 1


def _loopback_source(raw: str) -> str | None:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    return str(address) if address.version == 4 and address.is_loopback else None


def select_targets(fleet: list[dict[str, Any]], wanted: list[str] | None) -> list[Target]:
    """Running deckies (only `wanted` ones if given); non-loopback ones are refused, loudly."""
    missing = sorted(set(wanted or ()) - {d["name"] for d in fleet})
    if missing:
        print(f"decnet: no decky named {', '.join(missing)}", file=sys.stderr)
        return []
    targets = []
    for decky in fleet:
        if wanted and decky["name"] not in wanted:
            continue
        if not ipaddress.ip_address(decky["ip"]).is_loopback:
            print(f"refusing {decky['name']} at {decky['ip']}: attack-sim only targets"
                  " loopback deckies (the local runtime)", file=sys.stderr)  # fmt: skip
        elif decky["status"] != "running":
            print(f"skipping {decky['name']}: {decky['status']}", file=sys.stderr)
        else:
            config = {s: dict(c) for s, c in (decky.get("service_config") or {}).items()}
            targets.append(Target(decky["name"], decky["ip"], dict(decky["ports"]), config))
    if not targets:
        print("decnet: no running loopback decky to attack; deploy an INI first", file=sys.stderr)
    return targets


def attack(targets: list[Target], sim: Sim) -> None:
    """Recon first, then logins, as an intruder would; each step bounded and independent."""
    count = f"{len(targets)} {'decky' if len(targets) == 1 else 'deckies'}"
    print(f"Attacking {count} from {sim.source}:", flush=True)
    limit = 1 if sim.quick else 3
    steps: tuple[tuple[str, Callable[[Target, Sim], None]], ...] = (
        ("http", lambda target, sim: http_scan(target, sim, "http")),
        ("https", lambda target, sim: http_scan(target, sim, "https")),
        ("ssh", ssh_attack),
        ("ftp", ftp_attack),
        ("telnet", telnet_attack),
        ("redis", redis_attack),
    )
    for service, step in steps:
        chosen = pick(targets, service, limit)
        if service == "ssh" and chosen and not any(t.login("ssh") for t in chosen):
            print("  (no decky has [NAME.ssh] password/users: ssh is brute force only)")
        for target in chosen:
            try:
                step(target, sim)
            except (OSError, EOFError, ftplib.Error, http.client.HTTPException, TimeoutError) as e:
                sim.failed(service, target, e)


def pick(targets: list[Target], service: str, limit: int) -> list[Target]:
    """Up to `limit` deckies running `service`, those with a configured login first."""
    running = [t for t in targets if service in t.ports]
    return sorted(running, key=lambda t: t.login(service) is None)[:limit]


# --- http ----------------------------------------------------------------------------------------


def http_scan(target: Target, sim: Sim, service: str) -> None:
    """A few scanner requests and a login-form POST, one connection each."""
    kwargs: dict[str, Any] = {"timeout": TIMEOUT_S, "source_address": sim.bind()}
    if service == "https":
        kwargs["context"] = _unverified_tls()
    factory = http.client.HTTPSConnection if service == "https" else http.client.HTTPConnection
    for method, path, agent, extra, form in HTTP_PROBES:
        headers = {"User-Agent": agent, "Accept": "*/*", "Connection": "close", **extra}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = factory(target.ip, target.ports[service], **kwargs)
        try:
            connection.request(method, path, body=form, headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        answer = f"{response.status} {response.getheader('Server', '')}".rstrip()
        sim.note(service, target, f"{method} {path[:40]} as {TOOL_LABELS[agent]} -> {answer}")


def _unverified_tls() -> ssl.SSLContext:
    # A honeypot's certificate is self-signed by design; there is nothing to verify.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# --- ssh -----------------------------------------------------------------------------------------


def ssh_attack(target: Target, sim: Sim) -> None:
    """Brute force, then (if the INI allows one) a login: shell, exec and an SFTP upload."""
    import asyncssh  # only this command needs it; keep `decnet`'s other commands fast

    try:
        asyncio.run(_ssh_attack(target, sim))
    except asyncssh.Error as e:
        sim.failed("ssh", target, e)


async def _ssh_attack(target: Target, sim: Sim) -> None:
    import asyncssh

    refused = [p for p in sim.guesses if not await _ssh_try(target, sim, "root", p)]
    sim.note("ssh", target, f"brute force root: {len(refused)} wrong passwords refused")
    login = target.login("ssh")
    if login is None:
        return
    async with asyncio.timeout(TIMEOUT_S * 4):
        conn = await asyncssh.connect(**_ssh_options(target, sim, *login))
        async with conn:
            sim.note("ssh", target, f"login {login[0]}:{login[1]} accepted")
            await _ssh_session(conn, target, sim)


async def _ssh_try(target: Target, sim: Sim, user: str, password: str) -> bool:
    import asyncssh

    try:
        async with asyncio.timeout(TIMEOUT_S):
            conn = await asyncssh.connect(**_ssh_options(target, sim, user, password))
    except asyncssh.PermissionDenied:
        return False
    conn.close()
    return True


async def _ssh_session(conn: Any, target: Target, sim: Sim) -> None:
    script = "".join(f"{line}\n" for line in (*SHELL_COMMANDS, "exit"))
    await conn.run(input=script, timeout=TIMEOUT_S)
    sim.note("ssh", target, f"shell: {'; '.join(SHELL_COMMANDS)}")
    result = await conn.run(EXEC_COMMAND, timeout=TIMEOUT_S)
    first = str(result.stdout or "").strip().splitlines()[:1]
    sim.note("ssh", target, f"exec: {EXEC_COMMAND} -> {first[0] if first else '(no output)'}")
    payload = _payload(target)
    async with conn.start_sftp_client() as sftp, sftp.open(UPLOAD_PATH, "wb") as remote:
        await remote.write(payload)
    sim.note("ssh", target, f"sftp upload {UPLOAD_PATH} ({len(payload)} bytes)")


def _ssh_options(target: Target, sim: Sim, user: str, password: str) -> dict[str, Any]:
    return {
        "host": target.ip,
        "port": target.ports["ssh"],
        "local_addr": sim.bind(),
        "username": user,
        "password": password,
        "known_hosts": None,  # a decky's host key is new by definition
        "client_keys": None,  # never offer the operator's own keys
        "agent_path": None,
        "config": [],  # nor follow their ~/.ssh/config (a ProxyJump would leave loopback)
        "preferred_auth": "password",
        "connect_timeout": TIMEOUT_S,
        "login_timeout": TIMEOUT_S,
    }


def _payload(target: Target) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"#!/bin/sh\n# dropped by decnet attack-sim on {target.name} at {stamp}\nid\n".encode()


# --- ftp -----------------------------------------------------------------------------------------


def ftp_attack(target: Target, sim: Sim) -> None:
    """A wrong login, then (if configured) the right one and a STOR."""
    login = target.login("ftp")
    # S321: plain FTP is what the decky speaks; that is the point.
    with ftplib.FTP(timeout=TIMEOUT_S, source_address=sim.bind()) as ftp:  # noqa: S321
        banner = ftp.connect(target.ip, target.ports["ftp"])
        try:
            ftp.login(login[0] if login else "anonymous", "admin123")
        except ftplib.error_perm as e:
            sim.note("ftp", target, f"{banner[:40]}: wrong password -> {str(e)[:30]}")
        if login is None:
            sim.note("ftp", target, "no [NAME.ftp] users configured: no login")
            return
        ftp.login(*login)
        payload = _payload(target)
        ftp.storbinary("STOR backup.sh", io.BytesIO(payload))
        sim.note("ftp", target, f"login {login[0]}:{login[1]}, STOR backup.sh ({len(payload)} B)")
        ftp.quit()


# --- telnet --------------------------------------------------------------------------------------


def telnet_attack(target: Target, sim: Sim) -> None:
    """A wrong login, then (if configured) the right one and a command."""
    login = target.login("telnet")
    address = (target.ip, target.ports["telnet"])
    with socket.create_connection(address, TIMEOUT_S, source_address=sim.bind()) as sock:
        _expect(sock, b"login: ")
        _send(sock, login[0] if login else "root")
        _expect(sock, b"Password: ")
        _send(sock, "admin")
        _expect(sock, b"login: ")
        if login is None:
            sim.note("telnet", target, "wrong password refused (no [NAME.telnet] login to try)")
            return
        sim.note("telnet", target, "wrong password refused")
        _send(sock, login[0])
        _expect(sock, b"Password: ")
        _send(sock, login[1])
        _expect(sock, b"# ", b"$ ")
        _send(sock, "uname -a")
        _expect(sock, b"# ", b"$ ")
        _send(sock, "exit")
        _drain(sock)  # let the decky read `exit` before we close (else it may see a reset)
        sim.note("telnet", target, f"login {login[0]}:{login[1]}, ran uname -a")


def _send(sock: socket.socket, line: str) -> None:
    sock.sendall(line.encode() + b"\r\n")


def _drain(sock: socket.socket) -> None:
    """Read until the peer closes (bounded)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        if not sock.recv(4096):
            return


def _expect(sock: socket.socket, *endings: bytes) -> bytes:
    """Read (telnet negotiation stripped) until the text ends with one of `endings`."""
    text = b""
    deadline = time.monotonic() + TIMEOUT_S
    while not text.rstrip(b"\x00").endswith(endings):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk or time.monotonic() > deadline:
            raise TimeoutError(f"no {endings[0]!r} prompt")
        text = _IAC.sub(b"", text + chunk)
    return text


# --- redis ---------------------------------------------------------------------------------------


def redis_attack(target: Target, sim: Sim) -> None:
    """AUTH guesses and the recon commands of the classic redis takeover."""
    login = target.login("redis")
    commands = [["AUTH", "redis123"]]
    commands += [["AUTH", login[1]]] if login else []
    commands += [["INFO", "server"], ["CONFIG", "GET", "dir"], ["QUIT"]]
    address = (target.ip, target.ports["redis"])
    with socket.create_connection(address, TIMEOUT_S, source_address=sim.bind()) as sock:
        reader = sock.makefile("rb")
        replies = []
        for command in commands:
            sock.sendall(_resp(command))
            replies.append(_first_line(list(_reply_lines(reader))))
    pairs = zip(commands, replies, strict=True)
    shown = ", ".join(f"{' '.join(c[:2])} -> {r}" for c, r in pairs)
    sim.note("redis", target, shown)


def _resp(args: list[str]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        raw = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


def _first_line(reply: list[str]) -> str:
    """Enough of a whole reply to show the answer."""
    lines = reply[0].strip().splitlines() if reply else []
    return lines[0][:24] if lines else "(empty)"


def _reply_lines(reader: Any) -> Iterator[str]:
    """One whole RESP reply (read to its end, so the next reply starts clean), as text."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise EOFError("redis closed the connection")
    head, body = line[:1], line[1:-2]
    if head in (b"$", b"="):
        size = int(body)
        yield (reader.read(size + 2)[:size] if size >= 0 else b"(nil)").decode("utf-8", "replace")
    elif head in (b"*", b"%", b"~"):
        count = max(0, int(body)) * (2 if head == b"%" else 1)
        for _ in range(count):
            yield from _reply_lines(reader)
    else:
        yield body.decode("utf-8", "replace")


# --- where to look -------------------------------------------------------------------------------


def show_attacker(client: ApiClient, url: str, source: str) -> None:
    """Wait (bounded) for the attacker profile and print it with the routes to explore."""
    from projections.attackers_schema import attacker_uuid  # the server's own derivation

    uuid = attacker_uuid(source)
    profile = _await_profile(client, str(uuid))
    base = url.rstrip("/") + "/api/v1"
    print(f"\nYou are attacker {source} = {uuid}")
    if profile is not None:
        print(summary(profile))
    else:
        print(f"  (not projected yet after {PROJECTION_WAIT_S:.0f} s: look again in a moment)")
    print("Where to look (with -H 'Authorization: Bearer $DECNET_CLI_TOKEN'):")
    for path in ("", "/commands", "/artifacts"):
        print(f"  {base}/attackers/{uuid}{path}")
    print(f"  {base}/bounty?search={source}")
    print(f"  {base}/logs?search=attacker:{source}")


def summary(profile: dict[str, Any]) -> str:
    """Two lines: where the attacker went, and what the server made of it."""
    behavior = profile["behavior"]
    return (
        f"  services {', '.join(profile['services'])}; deckies {' → '.join(profile['deckies'])}\n"
        f"  bounty {profile['bounty_count']} (credentials {profile['credential_count']}),"
        f" commands {profile['command_count']}, tools {', '.join(behavior['tool_guesses'])},"
        f" class {behavior['behavior_class']}, os {behavior['os_guess'] or '-'}"
    )


def _await_profile(client: ApiClient, uuid: str) -> dict[str, Any] | None:
    """The profile once two reads half a second apart agree (the projection caught up)."""
    deadline = time.monotonic() + PROJECTION_WAIT_S
    previous: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        try:
            _, profile = client.request("GET", f"/attackers/{uuid}")
        except ApiError as e:
            if e.status != 404:
                return None
            profile = None
        if profile and previous and profile["event_count"] == previous["event_count"]:
            return dict(profile)
        previous = profile
        time.sleep(0.5)
    return previous
