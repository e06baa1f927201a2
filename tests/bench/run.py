"""Every benchmark of issue 11 in one command; prints a table and can rewrite the README's.

    .venv/bin/python -m tests.bench.run [--records N] [--readme] [--stages a,b,...]

`DECNET_BENCH_RECORDS` (default 1,000,000) is the dataset size (`DECNET_BENCH_SYSLOG_RECORDS`, by
default the same, bounds the end-to-end syslog run; `DECNET_BENCH_SAMPLES`, default 60, is the
number of requests per read route); `DECNET_BENCH_PG_URL` (default
`DECNET_TEST_PG_URL`) is a server where the runner creates databases of its own
(`perf_bench_<N>`, `perf_bench_syslog_<N>`); without either it falls back to the embedded
PostgreSQL under a temporary data directory. The dataset is loaded once per size
and reused (`--fresh` reloads it). `DECNET_BENCH_DATABASE` names the dataset's database instead
(e.g. a copy of the shared one made with `createdb -T`, so runs that write to it leave the
original alone).

Stages, each measured from this process against real servers it starts:
- `parse`: RFC 5424 parsing on one core.
- `load`: event-store appends in 1,000-record batches (the dataset for the other stages).
- `project`: every read model caught up from position 0 at once (the first build).
- `rebuild`: every read model rebuilt beside the live one and swapped in (the zero-downtime path).
- `reads`: p50/p95 of each read route over HTTP (httpx, sequential) against `decnet serve`.
- `wrk`: `/logs` requests per second with 16 connections (Debian's `wrk`, its own process).
- `sse`: syslog line sent over TCP → its frame received on `/stream`, one client.
- `sse1000`: the same with 1,000 clients connected at once (`DECNET_BENCH_SSE_CLIENTS`), in
  four client processes of their own (`tests/bench/sse_clients.py`); bounded in time.
- `syslog`: N lines over TCP from a sender process into a fresh `decnet serve` until `/stats`
  counts them all; the server's peak RSS.
- `split`: the same lines into the split topology instead (`decnet collector`, `projector`, `api`
  and `fleet`, one process each, sharing the database and Redis: `DECNET_BENCH_REDIS_URL`, else
  `DECNET_TEST_REDIS_URL`); needs a PostgreSQL server (the embedded one is per process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import psycopg

from infrastructure.collector.framing import octet_count
from infrastructure.collector.rfc5424 import format_line, parse_line
from tests.api.harness import free_port as harness_free_port
from tests.bench import decnet_side
from tests.bench.synthetic import records
from tests.topology.harness import admin_token, topology

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
STAGES = (
    "parse",
    "load",
    "project",
    "rebuild",
    "reads",
    "wrk",
    "sse",
    "sse1000",
    "syslog",
    "split",
    "decnet",
)
SAMPLES = int(os.environ.get("DECNET_BENCH_SAMPLES", "60"))  # sequential requests per route
PASSWORD = "benchpass2"


@dataclass
class Report:
    """Rows of the printed and README tables."""

    records: int
    rates: list[tuple[str, str, str]] = field(default_factory=list)  # measure, figure, target
    reads: list[tuple[str, float, float, str]] = field(default_factory=list)
    versus: list[tuple[str, float, float, float | None, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rate(self, measure: str, figure: str, target: str = "") -> None:
        self.rates.append((measure, figure, target))
        print(f"  {measure:60} {figure:>24}  {target}", flush=True)

    def read(self, route: str, p50: float, p95: float, extra: str = "") -> None:
        self.reads.append((route, p50, p95, extra))
        print(f"  {route:60} p50 {p50:8.2f}  p95 {p95:8.2f} ms {extra}", flush=True)

    def against(self, route: str, ours: list[float], theirs: list[float] | int) -> None:
        """One route's p50 and p95 here and on DECNET (ms), or the status DECNET answered."""
        mine = percentiles(ours)
        its = percentiles(theirs) if isinstance(theirs, list) else (None, None)
        self.versus.append((route, *mine, *its))
        there = (
            f"DECNET p50 {its[0]:8.2f} p95 {its[1]:8.2f} ms"
            if its[0] is not None and its[1] is not None
            else f"DECNET answers HTTP {theirs}"
        )
        print(f"  {route:48} ours p50 {mine[0]:7.2f} p95 {mine[1]:7.2f} | {there}", flush=True)

    def markdown(self, machine: str, database: str, elapsed: float) -> str:
        lines = [
            f"Latest run — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}; {database};"
            f" {self.records:,} synthetic records over a week (2,000 attacker IPs, 20 deckies,"
            f" 8 services; `tests/bench/synthetic.py`); the whole run took {elapsed / 60:.0f} min.",
            "",
            "| measure | figure | target |",
            "|---|---|---|",
            *(f"| {m} | {f} | {t} |" for m, f, t in self.rates),
            "",
            f"Read latency at {self.records:,} logs (HTTP from the runner's process against"
            f" `decnet serve`, {SAMPLES} sequential requests each, ms; target p95 ≤ 20):",
            "",
            "| route | p50 | p95 | |",
            "|---|---|---|---|",
            *(f"| `{r}` | {p50:.1f} | {p95:.1f} | {x} |" for r, p50, p95, x in self.reads),
        ]
        if self.versus:
            lines += [
                "",
                f"Side by side with DECNET {decnet_side.VERSION} (its API on uvicorn with SQLite"
                " and its response caches, the same records in its tables; each route asked of"
                f" both in turn, {SAMPLES} times; ms; `tests/bench/decnet_side.py`):",
                "",
                "| route | ours p50 | ours p95 | DECNET p50 | DECNET p95 | DECNET p95 ÷ ours |",
                "|---|---|---|---|---|---|",
                *(
                    f"| `{r}` | {a:.1f} | {b:.1f} | {c:.1f} | {d:.1f} | {d / b:.1f} |"
                    if c is not None and d is not None
                    else f"| `{r}` | {a:.1f} | {b:.1f} | error | error | |"
                    for r, a, b, c, d in self.versus
                ),
            ]
        if self.notes:
            lines += ["", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines)


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95 of request times."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


# -- environment -----------------------------------------------------------------------------


def admin_url() -> str | None:
    return os.environ.get("DECNET_BENCH_PG_URL") or os.environ.get("DECNET_TEST_PG_URL")


def database(name: str, fresh: bool) -> str | None:
    """A database of the runner's own on the configured server (None: use the embedded one)."""
    url = admin_url()
    if url is None:
        return None
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if not exists or fresh:
            conn.execute(f"CREATE DATABASE {name}")
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


BENCH_KEY = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "decnet-bench"
    / "signing_key.pem"
)


def server_env(data_dir: Path, port: int, db_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env |= {
        "DECNET_DATA_DIR": str(data_dir),
        "DECNET_DEVELOPER": "true",
        "DECNET_ADMIN_PASSWORD": "benchpass1",
        "DECNET_ARGON2_PROFILE": "test",
        "DECNET_API_PORT": str(port),
        "DECNET_SYSLOG_PORT": str(port + 1),
        "DECNET_LOG_LEVEL": "warning",
        # `sse1000`'s clients all stream with the runner's one admin token (1,000 dashboards
        # would be many users, each under the per-user bound of 32).
        "DECNET_MAX_STREAMS_PER_USER": "5000",
    }
    if db_url:
        env["DECNET_DATABASE_URL"] = db_url
        # A dataset outlives the run's data dir: every run's servers sign its history with one
        # key (another would sign nothing and report `signing_key` failing, docs/forensics.md).
        env["DECNET_SIGNING_KEY_FILE"] = str(BENCH_KEY)
    return env


def free_port() -> int:
    """A port whose successor is free too (API, then syslog)."""
    return harness_free_port(2)


@contextmanager
def serve(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "serve"], env=env)
    client = httpx.Client(base_url=f"http://127.0.0.1:{env['DECNET_API_PORT']}/api/v1", timeout=60)
    try:
        client.headers["Authorization"] = f"Bearer {login(client)}"
        yield server, client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=60)


def login(client: httpx.Client) -> str:
    deadline = time.monotonic() + 600  # a server upgrading a big dataset may take a while
    while True:
        try:
            r = client.post("/auth/login", json={"username": "admin", "password": PASSWORD})
            if r.status_code == 401:
                r = client.post("/auth/login", json={"username": "admin", "password": "benchpass1"})
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    r.raise_for_status()
    token = str(r.json()["access_token"])
    if r.json()["must_change_password"]:
        client.post(
            "/auth/change-password",
            json={"old_password": "benchpass1", "new_password": PASSWORD},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
        r = client.post("/auth/login", json={"username": "admin", "password": PASSWORD})
        r.raise_for_status()
        token = str(r.json()["access_token"])
    return token


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process (its peak resident set), in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


def _decnet_processes(pid: int) -> dict[str, psutil.Process]:
    """The server and its Python children by role (`serve`, `intake`), PostgreSQL excluded."""
    server = psutil.Process(pid)
    found = {"serve": server}
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "interfaces.cli.intake" in " ".join(child.cmdline()):
                found["intake"] = child
    return found


def rss_mb(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """Peak resident set (VmHWM) of each process by role, in MB."""
    peaks = {}
    for role, process in processes.items():
        with contextlib.suppress(OSError):
            peaks[role] = peak_rss_mb(process.pid)
    return peaks


def cpu_seconds(processes: dict[str, psutil.Process], data_dir: Path) -> dict[str, float]:
    """CPU-seconds (user + system) used so far by each process by role, and by the embedded
    PostgreSQL's processes (those under `data_dir`, summed)."""
    used: dict[str, float] = {}
    for role, process in processes.items():
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            used[role] = times.user + times.system
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if process.info["name"] == "postgres" and str(data_dir) in " ".join(
                process.info["cmdline"] or []
            ):
                postmaster = [process, *process.children()]
                used["postgres"] = sum(
                    t.user + t.system + t.children_user + t.children_system
                    for t in (q.cpu_times() for q in postmaster)
                )
    return used


# -- in-process stages (the loader and the projection runner are the code under test) --------


def stage_parse(report: Report) -> None:
    lines = [format_line(r) for r in islice(records(50_000), 50_000)]
    start = time.perf_counter()
    for line in lines:
        parse_line(line)
    report.rate("RFC 5424 parse (one core)", per_s(len(lines), time.perf_counter() - start))


def per_s(count: int, seconds: float, unit: str = "records/s") -> str:
    return f"{count / seconds:,.0f} {unit}"


def _settings(db_url: str | None, data_dir: Path) -> Any:
    from infrastructure.settings import load_settings

    env = server_env(data_dir, free_port(), db_url)
    return load_settings(env, dotenv=data_dir / ".env")


def stage_load(report: Report, db_url: str | None, data_dir: Path, fresh: bool) -> bool:
    """Append the dataset unless the database already holds it; True when it was loaded now."""

    async def main() -> bool:
        from application.observations.ingest import IngestCommands
        from domain.observations.batch import JournalSpan
        from interfaces.bootstrap import open_core

        async with open_core(_settings(db_url, data_dir)) as core:
            held = await anyio.to_thread.run_sync(_records_held, core)
            if held >= report.records and not fresh:
                report.notes.append(f"dataset reused: {held:,} records already stored")
                print(f"  dataset present ({held:,} records)", flush=True)
                return False
            ingest = IngestCommands(core.store)
            stream = records(report.records)
            start = time.perf_counter()
            offset = 0
            while batch := list(islice(stream, 1000)):
                span = JournalSpan("bench", offset, offset + len(batch))
                await anyio.to_thread.run_sync(ingest.append, batch, [], span)
                offset += len(batch)
            seconds = time.perf_counter() - start
            report.rate("event-store append, 1,000-record batches", per_s(offset, seconds))
            return True

    return anyio.run(main)


def _records_held(core: Any) -> int:
    with psycopg.connect(core.pool.conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'decnet_events'"
        ).fetchone()
        if not row or not row[0]:
            return 0
        row = conn.execute(
            "SELECT count(*) FROM decnet_events.decnet_events WHERE topic LIKE %s",
            ("%InteractionsObserved",),
        ).fetchone()
    return int(row[0]) * 1000 if row else 0


def stage_project(report: Report, db_url: str | None, data_dir: Path, rebuild: bool) -> None:
    """Every model from 0 at once: live catch-up (`rebuild=False`) or shadow rebuild + swap.

    A rebuild runs in `DECNET_BENCH_REBUILD_WORKERS` worker processes (default: one per core,
    as `decnet projections rebuild` does); 1 rebuilds every model in this process.
    """
    workers = int(os.environ.get("DECNET_BENCH_REBUILD_WORKERS", os.cpu_count() or 1))

    async def main() -> None:
        from interfaces.bootstrap import open_core
        from interfaces.cli.rebuild_workers import rebuild_in_workers
        from projections.catalog import FACTORIES, all_projections
        from projections.runner import ProjectionRunner

        env = server_env(data_dir, free_port(), db_url)
        async with open_core(_settings(db_url, data_dir)) as core:
            runner = ProjectionRunner(core.store, core.pool, all_projections(), factories=FACTORIES)
            await runner.setup()
            times: dict[str, float] = {}
            pg = PostgresCpu(core.pool.conninfo)
            await pg.start()
            start, cpu = time.perf_counter(), time.process_time()
            children = _children_cpu()

            async def one(name: str) -> None:
                if rebuild:
                    await runner.rebuild(name)
                else:
                    await runner.catch_up(name)
                times[name] = time.perf_counter() - start

            async with anyio.create_task_group() as sampling:
                sampling.start_soon(pg.follow)
                if rebuild and workers > 1:
                    await rebuild_in_workers(
                        list(FACTORIES),
                        workers,
                        env,
                        lambda name, _: times.setdefault(name, time.perf_counter() - start),
                    )
                else:
                    async with anyio.create_task_group() as tg:
                        for name in FACTORIES:
                            tg.start_soon(one, name)
                sampling.cancel_scope.cancel()
            total, cpu = time.perf_counter() - start, time.process_time() - cpu
            cpu += _children_cpu() - children
            await pg.sample()
            pg_cpu = pg.total()
            what = "full rebuild (shadow + swap)" if rebuild else "first build from position 0"
            how = f"{workers} worker processes" if rebuild and workers > 1 else "one process"
            slowest = ", ".join(
                f"{n} {s:.0f} s" for n, s in sorted(times.items(), key=lambda t: -t[1])[:3]
            )
            report.rate(
                f"{what} of every read model, all at once ({how})",
                per_s(report.records, total),
                "≥ 100,000 records/s" if rebuild else "",
            )
            report.notes.append(
                f"{what} ({how}): {total:.0f} s in all"
                + (f" (slowest: {slowest})" if slowest else "")
                + f"; the projecting process(es) got {cpu:.0f} s of CPU in that time"
                f" ({100 * cpu / total:.0f}% of one core), i.e."
                f" {report.records / cpu:,.0f} records per CPU-second of Python; PostgreSQL's"
                f" backends of this database {pg_cpu:.0f} CPU-seconds; load average"
                f" {os.getloadavg()[0]:.1f} at the end"
            )

    anyio.run(main)


def _children_cpu() -> float:
    """CPU-seconds of this process's children that have exited (the rebuild workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PostgresCpu:
    """CPU-seconds of this database's backends (the server runs on this host), sampled.

    Workers' backends exit with them, so the backends are sampled every half second while the
    stage runs: a backend's CPU after its last sample is missed (at most half a second each).
    """

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}

    async def sample(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            cur = await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
            pids = [int(r[0]) for r in await cur.fetchall()]
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # another host, or it just exited
                continue
            self._last[pid] = (int(fields[11]) + int(fields[12])) / tick

    async def start(self) -> None:
        await self.sample()
        self._first = dict(self._last)

    async def follow(self) -> None:
        while True:
            await anyio.sleep(0.5)
            await self.sample()

    def total(self) -> float:
        return sum(v - self._first.get(pid, 0.0) for pid, v in self._last.items())


# -- stages against a running server ---------------------------------------------------------


def timed(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[float, float, Any]:
    times = []
    body: Any = None
    for _ in range(SAMPLES):
        t = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise AssertionError(f"{path} {params}: {response.status_code} {response.text}")
        body = response
    return (*percentiles(times), body)


def read_routes(n: int, uuid: str) -> dict[str, tuple[str, dict[str, Any]]]:
    day = {"start_time": "2026-11-03T00:00:00Z", "end_time": "2026-11-03T23:59:59Z"}
    return {
        "/logs": ("/logs", {}),
        f"/logs?offset={min(100_000, n - 50)}": ("/logs", {"offset": min(100_000, n - 50)}),
        f"/logs?offset={int(n * 0.9)}": ("/logs", {"offset": int(n * 0.9)}),
        "/logs one-hour range": (
            "/logs",
            {"start_time": "2026-11-03T10:00:00Z", "end_time": "2026-11-03T11:00:00Z"},
        ),
        "/logs?search=bot.sh": ("/logs", {"search": "bot.sh"}),
        "/logs?search=root": ("/logs", {"search": "root"}),
        "/logs?search=login": ("/logs", {"search": "login"}),
        # A word few rows hold, spread over the week (one password of 500), and one none holds:
        # the page gathers the former's rows and answers the latter from the dictionary.
        "/logs?search=pw179": ("/logs", {"search": "pw179"}),
        "/logs?search=qzxv (a typo)": ("/logs", {"search": "qzxv"}),
        # The rare word beside common terms: its rows are filtered, not ANDed with their indexes.
        "/logs?search=service:ssh pw179": ("/logs", {"search": "service:ssh pw179"}),
        "/logs?search=username:root pw179": ("/logs", {"search": "username:root pw179"}),
        "/logs?search=decky:decky-03 service:ssh": (
            "/logs",
            {"search": "decky:decky-03 service:ssh"},
        ),
        "/logs?search=username:root": ("/logs", {"search": "username:root"}),
        "/logs?search=username:root service:ssh": (
            "/logs",
            {"search": "username:root service:ssh"},
        ),
        "/logs/histogram (default)": ("/logs/histogram", {}),
        "/logs/histogram 15 min over a day": ("/logs/histogram", {**day, "interval_minutes": 15}),
        "/logs/histogram 1 min over a day": ("/logs/histogram", {**day, "interval_minutes": 1}),
        "/logs/histogram search=bot.sh, 1 h": (
            "/logs/histogram",
            {"search": "bot.sh", "interval_minutes": 60},
        ),
        "/bounty": ("/bounty", {}),
        "/bounty?bounty_type=credential": ("/bounty", {"bounty_type": "credential"}),
        "/stats": ("/stats", {}),
        "/attackers (sort=recent)": ("/attackers", {"sort_by": "recent"}),
        "/attackers?sort_by=active": ("/attackers", {"sort_by": "active"}),
        "/attackers?sort_by=traversals": ("/attackers", {"sort_by": "traversals"}),
        "/attackers/{uuid}": (f"/attackers/{uuid}", {}),
        "/attackers/{uuid}/commands": (f"/attackers/{uuid}/commands", {}),
    }


def settle(report: Report, client: httpx.Client, limit: float = 7200) -> None:
    """Wait until every read model is live and caught up: a server that found a model of an
    older version serves the older tables while it rebuilds it (ADR 0011), which is not what the
    read stages measure."""
    began = time.monotonic()
    while True:
        answer = client.get("/projections")
        if answer.status_code == 401:  # the access token outlived: an upgrade can take longer
            client.headers["Authorization"] = f"Bearer {login(client)}"
            continue
        models = answer.raise_for_status().json()
        behind = [m["name"] for m in models if m["state"] != "live" or m["lag_events"]]
        if not behind:
            break
        if time.monotonic() - began > limit:
            raise RuntimeError(f"read models still behind after {limit:.0f} s: {behind}")
        time.sleep(2)
    waited = time.monotonic() - began
    if waited > 5:
        report.notes.append(
            f"the server first rebuilt or caught up read models for {waited:.0f} s (an upgrade)"
        )
        print(f"  read models settled after {waited:.0f} s", flush=True)


def stage_reads(report: Report, client: httpx.Client) -> None:
    first = client.get("/attackers", params={"sort_by": "active"}).json()
    uuid = first["data"][0]["uuid"]
    for label, (path, params) in read_routes(report.records, uuid).items():
        p50, p95, response = timed(client, path, params)
        extra = ""
        if path == "/logs":
            total = response.json()["total"]
            extra = f"total {total:,} ({100 * total / report.records:.0f}% of rows)"
        report.read(label, p50, p95, extra)
    page = client.get("/attackers", params={"limit": 50})
    report.rate("`/attackers` page of 50 rows", f"{len(page.content) / 1024:.1f} KB", "≤ 100 KB")


def stage_decnet(report: Report, ours: httpx.Client, work: Path) -> None:
    """The read routes here and on DECNET, the same records in both (`decnet_side`)."""
    home = decnet_side.venv(work)
    if home is None:
        report.notes.append(f"DECNET {decnet_side.VERSION} could not be installed: not compared")
        return
    port, database = free_port(), decnet_side.database_path(home, work)
    for stale in (database, *database.parent.glob(f"{database.name}-*")):  # with -wal, -shm
        stale.unlink(missing_ok=True)  # a new database: its admin is the one set here
    with decnet_side.serving(home, work, port):
        pass  # its first start makes its tables
    began = time.perf_counter()
    uuid = decnet_side.seed(database, report.records)
    print(f"  DECNET's tables filled in {time.perf_counter() - began:.0f} s", flush=True)
    with decnet_side.serving(home, work, port), closing(decnet_side.client(port)) as theirs:
        for route, mine, its in decnet_side.compare(ours, theirs, report.records, SAMPLES, uuid):
            report.against(route, mine, its)
        pages = [len(server.get("/attackers").content) / 1024 for server in (ours, theirs)]
        report.notes.append(
            f"`/attackers` page of 50 rows: ours {pages[0]:,.1f} KB, DECNET's {pages[1]:,.1f} KB"
        )


def stage_wrk(report: Report, client: httpx.Client) -> None:
    if shutil.which("wrk") is None:
        report.notes.append("wrk not installed: /logs throughput not measured")
        return
    token = client.headers["Authorization"]
    url = f"{client.base_url}/logs"
    out = subprocess.run(
        ["wrk", "-t2", "-c16", "-d15s", "-H", f"Authorization: {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figure = f"{float(match.group(1)):,.0f} requests/s" if match else "?"
    if errors:
        figure += f" ({errors.group(1)} non-2xx)"
    report.rate("`/logs` first page, wrk 16 connections, 1 API process", figure, "≥ 3,000")


def stage_sse(report: Report, client: httpx.Client, syslog_port: int, rounds: int = 40) -> None:
    """Send one line over TCP, wait for its frame; rounds apart so each is measured alone."""
    received: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        with client.stream("GET", "/stream", params={"search": "ssefresh"}, timeout=None) as r:
            ready.set()
            for line in r.iter_lines():
                if stop.is_set():
                    return
                for marker in re.findall(r"ssefresh(\d+)", line):
                    received.setdefault(marker, time.perf_counter())

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(1.0)
    latencies = []
    with socket.create_connection(("127.0.0.1", syslog_port)) as sock:
        for i in range(rounds):
            line = fresh_line(i)
            sent = time.perf_counter()
            sock.sendall(line)
            deadline = sent + 5
            while str(i) not in received and time.perf_counter() < deadline:
                time.sleep(0.001)
            if str(i) in received:
                latencies.append((received[str(i)] - sent) * 1000)
            time.sleep(0.2)
    stop.set()
    latencies.sort()
    if len(latencies) < rounds:
        report.notes.append(f"SSE: {rounds - len(latencies)} of {rounds} frames not seen in 5 s")
    if latencies:
        p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
        report.rate(
            "SSE freshness, syslog send → frame, 1 client",
            f"p50 {statistics.median(latencies):.0f} / p95 {p95:.0f} ms",
            "p95 ≤ 100 ms",
        )


def fresh_line(i: int) -> bytes:
    """A syslog line carrying the marker `ssefresh<i>`, stamped now."""
    ts = datetime.now(UTC).isoformat()
    return octet_count(
        f'<134>1 {ts} decky-00 ssh - command [relay@55555 src_ip="10.9.9.9"] ssefresh{i}'
    )


def stage_sse_many(
    report: Report, client: httpx.Client, syslog_port: int, rounds: int = 20
) -> None:
    """Like `sse`, with many clients in processes of their own; every client's frame counts."""
    clients = int(os.environ.get("DECNET_BENCH_SSE_CLIENTS", "1000"))
    procs = 4
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if clients // procs + 64 > limit:
        report.notes.append(f"SSE, {clients} clients: open-file limit {limit}, not measured")
        return
    token = client.headers["Authorization"]
    url = str(client.base_url)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.bench.sse_clients", url, token, str(n), "300"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in _shares(clients, procs)
    ]
    try:
        connected = sum(_ready(w) for w in workers)
        time.sleep(2.0)  # the snapshots of the last connections settle
        sent: dict[str, float] = {}
        with socket.create_connection(("127.0.0.1", syslog_port)) as sock:
            for i in range(rounds):
                line = fresh_line(i)
                sent[str(i)] = time.monotonic()
                sock.sendall(line)
                time.sleep(1.0)
        time.sleep(4.0)
        latencies: list[float] = []
        for w in workers:
            out, _ = w.communicate("stop\n", timeout=120)
            for marker, times in json.loads(out.strip().splitlines()[-1]).items():
                if marker in sent:
                    latencies += [(t - sent[marker]) * 1000 for t in times]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    expected = connected * rounds
    if len(latencies) < expected:
        report.notes.append(
            f"SSE, {connected} clients: {expected - len(latencies)} of {expected} frames not seen"
        )
    if latencies:
        latencies.sort()
        p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
        report.rate(
            f"SSE freshness, syslog send → frame, {connected:,} clients connected",
            f"p50 {statistics.median(latencies):.0f} / p95 {p95:.0f} ms",
            "p95 ≤ 500 ms",
        )


def _ready(worker: subprocess.Popen[str]) -> int:
    """How many of a client process's connections got their first frame."""
    line = worker.stdout.readline() if worker.stdout else ""
    return int(line.split()[1]) if line.startswith("ready") else 0


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass(frozen=True, slots=True)
class Ingest:
    """One end-to-end ingest run: seconds until every line was visible and until the sender
    had written them all; each process's peak RSS (MB) and CPU-seconds by role."""

    visible: float
    accepted: float
    peaks: dict[str, float]
    used: dict[str, float]


def syslog_payload(work: Path, n: int) -> Path:
    """n synthetic lines, octet-counted, in a file the sender streams (made once per run)."""
    payload = work / f"syslog-{n}.bin"
    if not payload.exists():
        with payload.open("wb") as f:
            for r in records(n, seed=11):
                f.write(octet_count(format_line(r)))
    return payload


def feed(
    client: httpx.Client,
    port: int,
    payload: Path,
    n: int,
    processes: Callable[[], dict[str, psutil.Process]],
    data_dir: Path,
) -> Ingest:
    """Stream `payload` from a sender process to the syslog `port` until `/stats` counts n
    logs; the processes' peak RSS sampled meanwhile and their CPU used."""
    sent = Path(f"{payload}.sent")
    sent.unlink(missing_ok=True)
    before = cpu_seconds(processes(), data_dir)
    start = time.perf_counter()
    sender = subprocess.Popen([sys.executable, "-m", "tests.bench.sender", str(port), str(payload)])
    peaks: dict[str, float] = {}
    seen = 0
    while seen < n:
        time.sleep(0.5)
        seen = int(client.get("/stats").json()["total_logs"])
        for role, mb in rss_mb(processes()).items():
            peaks[role] = max(peaks.get(role, 0.0), mb)
        if time.perf_counter() - start > 3600:
            raise AssertionError(f"only {seen} of {n} visible after an hour")
    visible = time.perf_counter() - start
    spent = cpu_seconds(processes(), data_dir)
    sender.wait(timeout=600)
    used = {role: seconds - before.get(role, 0.0) for role, seconds in spent.items()}
    return Ingest(visible, float(sent.read_text()), peaks, used)


def report_ingest(report: Report, run: Ingest, n: int, where: str, target: str) -> None:
    for role, mb in sorted(run.peaks.items()):
        report.notes.append(f"{where}: {role} peak RSS {mb:,.0f} MB")
    for role, seconds in sorted(run.used.items()):
        report.notes.append(
            f"{where}: {role} used {seconds:,.1f} CPU-seconds in {run.visible:,.1f} s wall"
        )
    report.rate(
        f"syslog over TCP (1 connection, separate process): accepted by {where}",
        per_s(n, run.accepted, "lines/s"),
    )
    report.rate(
        f"… {n:,} records visible in `/logs` and `/stats` ({where})", per_s(n, run.visible), target
    )
    report.rate(
        f"{where} peak RSS during that ingest (its Python processes, summed)",
        f"{sum(run.peaks.values()):,.0f} MB",
        "bounded",
    )


def stage_syslog(report: Report, fresh_db: str | None, work: Path, n: int) -> None:
    """A fresh server; n lines from a sender process over one TCP connection."""
    payload = syslog_payload(work, n)
    port = free_port()
    data_dir = work / "syslog-data"
    data_dir.mkdir(exist_ok=True)
    env = server_env(data_dir, port, fresh_db)
    with serve(env) as (server, client):
        run = feed(client, port + 1, payload, n, lambda: _decnet_processes(server.pid), data_dir)
    report_ingest(report, run, n, "`decnet serve`", "≥ 25,000 records/s")


def stage_split(report: Report, work: Path, n: int) -> None:
    """The split topology on a fresh database: the collector, the projector, one API and the
    fleet, each `decnet` process on its own, sharing PostgreSQL and a Redis prefix; n lines
    from a sender process into the collector over one TCP connection."""
    pg = admin_url()
    redis_url = os.environ.get("DECNET_BENCH_REDIS_URL") or os.environ.get("DECNET_TEST_REDIS_URL")
    if pg is None or redis_url is None:
        report.notes.append(
            "split topology not measured: it needs a PostgreSQL server (DECNET_BENCH_PG_URL or"
            " DECNET_TEST_PG_URL) and Redis (DECNET_BENCH_REDIS_URL or DECNET_TEST_REDIS_URL)"
        )
        return
    payload = syslog_payload(work, n)
    with topology(pg, redis_url) as topo:
        topo.projector("projector")  # waits for its leadership line (logged at info)
        api = topo.spawn("api", "api", DECNET_LOG_LEVEL="warning")
        collector = topo.spawn("collector", "collector", DECNET_LOG_LEVEL="warning")
        topo.fleet("fleet")
        api.wait_http()
        collector.wait_tcp(topo.syslog_port)
        roles = {p.name: psutil.Process(p.popen.pid) for p in topo.processes if p.popen is not None}
        with httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=60) as client:
            client.headers["Authorization"] = f"Bearer {admin_token(api, PASSWORD)}"
            run = feed(client, topo.syslog_port, payload, n, lambda: roles, topo.root)
    report_ingest(
        report,
        run,
        n,
        "the split topology (collector, projector, api, fleet)",
        "≥ 50,000 records/s",
    )


# -- the command -----------------------------------------------------------------------------


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.findall(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[0]) / 2**20
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    shared = ": the machine was shared" if load >= 0.5 * cores else ""
    return (
        f"{cores} cores ({cpu}), {mem:.0f} GiB, {platform.system()}"
        f" (load average {load:.1f} at the start{shared})"
    )


def rewrite_readme(text: str) -> None:
    readme = README.read_text()
    if BEGIN not in readme:
        raise SystemExit(f"README.md has no {BEGIN} … {END} section")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def run(records_n: int, stages: list[str], readme: bool, fresh: bool) -> Report:
    report = Report(records_n)
    began = time.perf_counter()
    pg = admin_url()
    where = (
        f"PostgreSQL at {pg.split('@')[-1].rsplit('/', 1)[0]}" if pg else "the embedded PostgreSQL"
    )
    with pg_version_of(pg) as version:
        where += f" ({version})" if version else ""
    host = machine()  # read before the run loads the machine
    print(f"\n  benchmark at {records_n:,} records; {host}; {where}\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="perf-bench-") as tmp:
        work = Path(tmp)
        data_dir = Path(os.environ.get("DECNET_BENCH_DATA_DIR", work / "data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        name = os.environ.get("DECNET_BENCH_DATABASE") or f"perf_bench_{records_n}"
        db_url = database(name, fresh)
        steps: dict[str, Callable[[], None]] = {
            "parse": lambda: stage_parse(report),
        }
        if "parse" in stages:
            steps["parse"]()
        if {"load", "project", "rebuild", "reads", "wrk", "sse", "sse1000", "decnet"} & set(stages):
            loaded = stage_load(report, db_url, data_dir, fresh)
            if loaded:
                stage_project(report, db_url, data_dir, rebuild=False)
            elif "project" in stages:
                report.notes.append("first build not measured: the dataset was reused (`--fresh`)")
        if "rebuild" in stages:
            stage_project(report, db_url, data_dir, rebuild=True)
        if {"reads", "wrk", "sse", "sse1000", "decnet"} & set(stages):
            port = free_port()
            with serve(server_env(data_dir, port, db_url)) as (_, client):
                settle(report, client)
                if "reads" in stages:
                    stage_reads(report, client)
                if "wrk" in stages:
                    stage_wrk(report, client)
                if "sse" in stages:
                    stage_sse(report, client, port + 1)
                if "sse1000" in stages:
                    stage_sse_many(report, client, port + 1)
                if "decnet" in stages:
                    stage_decnet(report, client, work)
        if "syslog" in stages:
            n = int(os.environ.get("DECNET_BENCH_SYSLOG_RECORDS", records_n))
            stage_syslog(report, database(f"perf_bench_syslog_{n}", True), work, n)
        if "split" in stages:
            stage_split(report, work, int(os.environ.get("DECNET_BENCH_SYSLOG_RECORDS", records_n)))
    elapsed = time.perf_counter() - began
    text = report.markdown(host, where, elapsed)
    print("\n" + text + "\n", flush=True)
    if readme:
        rewrite_readme(text)
        print(f"  README.md benchmark section rewritten ({README})", flush=True)
    return report


@contextmanager
def pg_version_of(url: str | None) -> Iterator[str]:
    if url is None:
        yield ""
        return
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    yield f"PostgreSQL {str(row[0]).split()[0]}" if row else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--records", type=int, default=int(os.environ.get("DECNET_BENCH_RECORDS", "1000000"))
    )
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--readme", action="store_true", help="rewrite README's figures")
    parser.add_argument("--fresh", action="store_true", help="reload the dataset")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")
    run(args.records, stages, args.readme, args.fresh)


if __name__ == "__main__":
    main()
