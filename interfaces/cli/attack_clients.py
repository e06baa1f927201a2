"""The real clients `decnet attack-sim` drives: http(s), ssh, ftp, telnet, redis (more: probes).

Each is bound to the run's loopback source address and bounded by `TIMEOUT_S`.
"""

from __future__ import annotations

import asyncio
import ftplib
import http.client
import io
import re
import socket
import ssl
import time
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_S = 5.0  # every connect, read and login
WRONG_PASSWORDS = ("123456", "password", "admin", "toor")
NIKTO = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)"
SQLMAP = "sqlmap/1.7#stable (https://sqlmap.org)"
BASIC_ADMIN = "Basic " + b64encode(b"admin:admin").decode()
# method, path, user agent, extra headers, form body
HttpProbe = tuple[str, str, str, dict[str, str], str | None]
HTTP_PROBES: tuple[HttpProbe, ...] = (
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
_NEGOTIATION = re.compile(rb"\xff([\xfb\xfd])(.)", re.DOTALL)


def telnet_replies(chunk: bytes) -> bytes:
    """A minimal client's answers to the server's requests: take its ECHO/SGA, refuse the rest.

    Linux telnetd waits for the answers to its DO TTYPE... before it shows any prompt.
    """
    out = bytearray()
    for verb, option in _NEGOTIATION.findall(chunk):
        if verb == b"\xfd":  # DO x: we will not
            out += b"\xff\xfc" + option
        else:  # WILL x: let the server echo and suppress go-ahead
            out += (b"\xff\xfd" if option in (b"\x01", b"\x03") else b"\xff\xfe") + option
    return bytes(out)


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
    touched: set[tuple[str, str]] = field(default_factory=set)  # (service, decky) reached

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
    with ftplib.FTP(timeout=TIMEOUT_S, source_address=sim.bind()) as ftp:  # noqa: S321 - FTP is the target
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
        if replies := telnet_replies(chunk):
            sock.sendall(replies)
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
