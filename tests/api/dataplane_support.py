"""Real clients for the data-plane black-box tests, each bound to a chosen loopback source.

asyncssh (brute force, pty shell, exec, SFTP), raw-socket HTTP, ftplib, a raw telnet client and
raw RESP. Every call is bounded by `TIMEOUT_S`; what the decky answered is returned so the tests
can judge it.
"""

from __future__ import annotations

import asyncio
import ftplib
import io
import re
import socket
import time
from typing import Any

import asyncssh

from interfaces.cli.attack_clients import telnet_replies

TIMEOUT_S = 5.0
_IAC = re.compile(rb"\xff\xfa.*?\xff\xf0|\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", re.DOTALL)


# --- ssh -----------------------------------------------------------------------------------------


def _ssh_options(source: str, username: str, password: str) -> dict[str, Any]:
    return {
        "local_addr": (source, 0),
        "username": username,
        "password": password,
        "known_hosts": None,
        "client_keys": None,
        "agent_path": None,
        "config": [],
        "preferred_auth": "password",
        "connect_timeout": TIMEOUT_S,
    }


async def ssh_refused(ip: str, port: int, source: str, username: str, password: str) -> bool:
    """One connection per guess, like hydra; True when the decky refuses the pair."""
    try:
        async with asyncio.timeout(TIMEOUT_S):
            conn = await asyncssh.connect(ip, port, **_ssh_options(source, username, password))
    except asyncssh.PermissionDenied:
        return True
    conn.close()
    return False


async def ssh_session(
    ip: str, port: int, source: str, login: tuple[str, str], lines: list[str], exec_command: str,
    upload: tuple[str, bytes],
) -> dict[str, str]:  # fmt: skip
    """Log in; type `lines` at the pty prompt; run `exec_command`; SFTP-upload a file."""
    async with asyncio.timeout(TIMEOUT_S * 4):
        conn = await asyncssh.connect(ip, port, **_ssh_options(source, *login))
        async with conn:
            process = await conn.create_process(term_type="xterm")
            shell = await _converse(process, lines)
            process.close()
            result = await conn.run(exec_command, timeout=TIMEOUT_S)
            async with conn.start_sftp_client() as sftp, sftp.open(upload[0], "wb") as remote:
                await remote.write(upload[1])
    return {"shell": shell, "exec": str(result.stdout), "exit_status": str(result.exit_status)}


async def _converse(process: asyncssh.SSHClientProcess[str], lines: list[str]) -> str:
    """Type each line once the prompt shows, as a person would; the whole transcript."""
    transcript = await _until_prompt(process)
    for line in lines:
        process.stdin.write(line + "\n")
        transcript += await _until_prompt(process)
    return transcript


async def _until_prompt(process: asyncssh.SSHClientProcess[str]) -> str:
    text = ""
    async with asyncio.timeout(TIMEOUT_S):
        while not text.endswith(("# ", "$ ")):
            chunk = await process.stdout.read(4096)
            if not chunk:
                break
            text += chunk
    return text


# --- http ----------------------------------------------------------------------------------------


def http_exchange(ip: str, port: int, source: str, request: bytes) -> bytes:
    """Send one raw HTTP/1.1 request (`Connection: close`); the whole response."""
    with socket.create_connection((ip, port), TIMEOUT_S, source_address=(source, 0)) as sock:
        sock.sendall(request)
        return _read_all(sock)


def raw_request(method: str, target: str, agent: str, body: bytes = b"", **headers: str) -> bytes:
    """A raw request as a scanner writes it."""
    lines = [f"{method} {target} HTTP/1.1", "Host: decky", f"User-Agent: {agent}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# --- ftp -----------------------------------------------------------------------------------------


def ftp_session(
    ip: str, port: int, source: str, wrong: tuple[str, str], right: tuple[str, str],
    upload: tuple[str, bytes],
) -> dict[str, str]:  # fmt: skip
    """A wrong login, the right one, a passive STOR (data connection from `source` too)."""
    with ftplib.FTP(timeout=TIMEOUT_S, source_address=(source, 0)) as ftp:  # noqa: S321
        answers = {"banner": ftp.connect(ip, port)}
        try:
            ftp.login(*wrong)
            answers["wrong"] = "accepted"
        except ftplib.error_perm as e:
            answers["wrong"] = str(e)
        answers["right"] = ftp.login(*right)
        answers["stor"] = ftp.storbinary(f"STOR {upload[0]}", io.BytesIO(upload[1]))
        answers["quit"] = ftp.quit()
    return answers


# --- telnet --------------------------------------------------------------------------------------


def telnet_session(
    ip: str, port: int, source: str, wrong: tuple[str, str], right: tuple[str, str],
    lines: list[str],
) -> dict[str, str]:  # fmt: skip
    """login: / Password: with a wrong pair, then the right one, then `lines` and exit."""
    with socket.create_connection((ip, port), TIMEOUT_S, source_address=(source, 0)) as sock:
        answers = {"greeting": expect(sock, b"login: ")}
        for name, (user, password) in (("wrong", wrong), ("right", right)):
            _send(sock, user)
            expect(sock, b"Password: ")
            _send(sock, password)
            ending = (b"login: ",) if name == "wrong" else (b"$ ", b"# ")
            answers[name] = expect(sock, *ending)
        for line in lines:
            _send(sock, line)
            answers[line] = expect(sock, b"$ ", b"# ")
        _send(sock, "exit")
        _read_all(sock)  # until the decky closes: it must read `exit` before we go
    return answers


def _send(sock: socket.socket, line: str) -> None:
    sock.sendall(line.encode() + b"\r\n")


def expect(sock: socket.socket, *endings: bytes) -> str:
    """Text (telnet negotiation stripped) up to one of `endings`; fails after `TIMEOUT_S`."""
    text = b""
    deadline = time.monotonic() + TIMEOUT_S
    while not text.endswith(endings):
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        assert chunk, f"closed before {endings!r}; got {text[-200:]!r}"
        assert time.monotonic() < deadline, f"no {endings!r} in time; got {text[-200:]!r}"
        if replies := telnet_replies(chunk):
            sock.sendall(replies)
        text = _IAC.sub(b"", text + chunk).replace(b"\x00", b"")
    return text.decode("utf-8", "replace")


# --- redis ---------------------------------------------------------------------------------------


def redis_session(ip: str, port: int, source: str, commands: list[list[str]]) -> list[bytes]:
    """Send RESP commands one by one; the raw first line of each reply (its whole bulk text)."""
    replies = []
    with socket.create_connection((ip, port), TIMEOUT_S, source_address=(source, 0)) as sock:
        reader = sock.makefile("rb")
        for command in commands:
            parts = [b"*%d\r\n" % len(command)]
            parts += [b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in command]
            sock.sendall(b"".join(parts))
            replies.append(_reply(reader))
    return replies


def _reply(reader: Any) -> bytes:
    line: bytes = reader.readline()
    assert line.endswith(b"\r\n"), f"redis closed: {line!r}"
    if line[:1] == b"$" and int(line[1:-2]) >= 0:
        return line + reader.read(int(line[1:-2]) + 2)
    if line[:1] == b"*":
        return line + b"".join(_reply(reader) for _ in range(max(0, int(line[1:-2]))))
    return line
