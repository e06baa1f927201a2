"""Helpers for black-box tests of the collector's listeners: its /health counters, TCP senders
from chosen loopback addresses and what they observe, and a syscall tracer for the server."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.api.observations_support import (
    SYSLOG_HOST,
    ObservedServer,
    all_logs,
    fields_of,
    syslog_line,
    wait_for,
)

# Counters of the collector_worker /health detail, by the words in front of each number.
COUNTERS = (
    "accepted",
    "udp kernel drops",
    "receive buffer",
    "tcp open",
    "refused at client cap",
    "refused at per-ip cap",
    "idle-closed",
)


def collector_detail(server: ObservedServer) -> str:
    """The collector_worker detail of /health."""
    with server.api() as api:
        health = api.get("/health", server.token).json()
    component = health["components"]["collector_worker"]
    assert component["status"] == "ok", component
    detail: str = component["detail"]
    return detail


def counters(server: ObservedServer) -> dict[str, int]:
    """Every counter of the collector's /health detail."""
    detail = collector_detail(server)
    found = {}
    for name in COUNTERS:
        match = re.search(rf"{name} (\d+)", detail)
        assert match, f"no {name!r} in {detail!r}"
        found[name] = int(match.group(1))
    return found


def collector_pid(server: ObservedServer) -> int:
    """The process holding the syslog port: `decnet serve`'s intake child, not serve itself."""
    for conn in psutil.net_connections(kind="tcp"):
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.laddr
            and conn.laddr.port == server.syslog_port
        ):
            assert conn.pid is not None, "the listener's pid is not visible"
            return conn.pid
    raise AssertionError(f"nothing listens on {server.syslog_port}")


def fsync_policy(server: ObservedServer) -> tuple[str, int]:
    """The journal fsync policy and the number of group commits so far."""
    match = re.search(r"journal fsync (\w+) \((\d+) syncs", collector_detail(server))
    assert match, collector_detail(server)
    return match.group(1), int(match.group(2))


def lines(t: str, count: int) -> bytes:
    """`count` newline-framed lines tagged `run:<t>`."""
    return b"".join(
        syslog_line("decky-lim", "ssh", "connect", {"run": t, "seq": str(i)}).encode() + b"\n"
        for i in range(count)
    )


def connect(port: int, source_ip: str) -> socket.socket:
    """A TCP connection to the collector from `source_ip` (a 127.x.y.z address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source_ip, 0))
    try:
        sock.connect((SYSLOG_HOST, port))
    except OSError:
        sock.close()
        raise
    sock.settimeout(10)
    return sock


def connect_or_reset(port: int, source_ip: str) -> socket.socket | None:
    """A connection, or None when the server's RST arrived before `connect` even returned."""
    try:
        return connect(port, source_ip)
    except ConnectionResetError:
        return None


def sender_sees_refusal(port: int, source_ip: str, line: bytes) -> str:
    """Behave like a syslog client (connect, send, later send again); say where it learnt that
    the server refused it: at `connect`, at `send` or at `receive` (then its next send fails)."""
    sock = connect_or_reset(port, source_ip)
    if sock is None:
        return "connect"
    with sock:
        try:
            sock.sendall(line)  # the sender got here and believed its line delivered
        except ConnectionResetError:
            return "send"
        try:
            data = sock.recv(1)
        except ConnectionResetError:
            try:
                sock.sendall(line)
            except (BrokenPipeError, ConnectionResetError):
                return "receive"
            raise AssertionError("a send after the reset succeeded") from None
        raise AssertionError(f"the connection was not reset (read {data!r})")


def send_and_close(port: int, source_ip: str, data: bytes) -> None:
    """Send, half-close, and wait for the server to close its side (it has read everything)."""
    with connect(port, source_ip) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""


def state(sock: socket.socket) -> str:
    """What a sender can tell about its connection right now: open, reset or closed (FIN)."""
    sock.setblocking(False)
    try:
        data = sock.recv(1)
    except BlockingIOError:
        return "open"
    except ConnectionResetError:
        return "reset"
    finally:
        sock.setblocking(True)
    return "closed" if data == b"" else "open"


@dataclass
class Trace:
    """Syscalls of a running server, in order, with their thread ids (strace -f output)."""

    lines: list[str]

    def first(self, pattern: str, after: int = -1) -> int | None:
        """Index of the first line after `after` matching `pattern`."""
        for i, line in enumerate(self.lines):
            if i > after and re.search(pattern, line):
                return i
        return None

    def completed_fdatasyncs(self, path_part: str) -> list[int]:
        """Indices where an fdatasync of a file whose path contains `path_part` returned 0."""
        pending: set[str] = set()
        done = []
        for i, line in enumerate(self.lines):
            tid = line.split(" ", 1)[0]
            if "fdatasync(" in line and path_part in line:
                if line.rstrip().endswith("= 0"):
                    done.append(i)
                elif "<unfinished" in line:
                    pending.add(tid)
            elif "<... fdatasync resumed>" in line and tid in pending:
                pending.discard(tid)
                if line.rstrip().endswith("= 0"):
                    done.append(i)
        return done


@contextlib.contextmanager
def traced(pid: int, syscalls: str) -> Iterator[list[Trace]]:
    """strace every thread of `pid` for these syscalls during the block; yields [Trace] after."""
    out = Path(tempfile.mkstemp(prefix="decnet-strace-")[1])
    err = out.with_suffix(".err")
    with err.open("wb") as errors:
        tracer = subprocess.Popen(
            ["strace", "-f", "-yy", "-e", f"trace={syscalls}", "-o", str(out), "-p", str(pid)],
            stderr=errors,
        )
    result: list[Trace] = []
    try:
        deadline = time.monotonic() + 10
        while "attached" not in err.read_text(errors="replace"):  # once per thread attached
            assert tracer.poll() is None, f"strace failed: {err.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.05)
        time.sleep(0.3)  # every thread attached
        yield result
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
        result.append(Trace(out.read_text(errors="replace").splitlines()))
        out.unlink()
        err.unlink()


def strace_available() -> bool:
    """strace is installed (the syscall-level test needs it)."""
    return shutil.which("strace") is not None


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` for the block (unmounted even when the test fails)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a filler file until the disk refuses more; return it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (65536, 512):  # big blocks, then the last few bytes
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    free = os.statvfs(directory)
    assert free.f_bavail == 0, f"{free.f_bavail} blocks still free"
    return filler


def stored_once(server: ObservedServer, t: str, count: int, timeout: float = 60.0) -> None:
    """The lines tagged `run:<t>` with `seq` 0..count-1 are each stored exactly once."""
    with server.api() as api:

        def probe() -> dict[int, dict[str, str]] | None:
            # Offset pages shift while rows arrive and repeat rows across pages: count distinct
            # rows, and trust a pass only when it saw as many as the total says (a stored
            # duplicate is a distinct row, so it is kept).
            rows = {r["id"]: r for r in all_logs(api, server.token, f"run:{t}")}
            page = api.get("/logs", server.token, params={"search": f"run:{t}", "limit": 1})
            return rows if len(rows) >= count and len(rows) == page.json()["total"] else None

        rows = wait_for(probe, timeout, f"{count} rows of run:{t}", every=0.5)
    seqs = Counter(fields_of(r)["seq"] for r in rows.values())
    assert seqs == Counter(str(i) for i in range(count)), seqs.most_common(3)
