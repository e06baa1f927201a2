"""DECNET itself beside us: the same records in its database, the same routes, alternating.

DECNET 1.0.0 is the release the package index here holds (the issue measured 1.2.1, which it
does not). It is installed from the index into a virtualenv of its own (`pip install
decnet==1.0.0`, nothing of it committed) and serves its API (FastAPI on uvicorn, SQLite, its own
2-5 s response caches) from that venv. Its ingester parses a few hundred records a second, so
the records go into its `logs` and `bounty` tables directly, in the rows its ingester writes:
the benchmark's records (`tests/bench/synthetic.py`), each auth record with a password also a
credential bounty, deduplicated as its repository does. Its attackers, which its profiler worker
builds from the logs, go into its `attackers` table as that worker's `_build_record` makes them
(one row per IP: first and last seen, counts, services, deckies in first-contact order, the
traversal path over two or more deckies, the credential count, and every command as a JSON list),
under the uuid our server gives the same IP, so `/attackers/{uuid}` names one attacker on both.
Its enrichments (GeoIP, ASN, RPKI, PTR) and behaviour rows stay empty: less for it to read.

Each route is asked of both servers in turn, `SAMPLES` times, one request at a time: neither
server competes with the other for the cores while it answers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from projections.attackers_schema import attacker_uuid
from tests.bench.synthetic import records

VERSION = "1.0.0"
ADMIN = "admin"
FIRST_PASSWORD = "bench-first-pass-1"
PASSWORD = "bench-second-pass-2"
READY_S = 120.0
Route = tuple[str, str, dict[str, str | int]]
ROUTES: tuple[Route, ...] = (  # (label, path, params): the read routes both serve from these tables
    ("/logs", "/logs", {}),
    ("/logs?offset=100000", "/logs", {"offset": "100k"}),
    ("/logs?offset=0.9·N", "/logs", {"offset": "0.9N"}),
    ("/logs?search=bot.sh", "/logs", {"search": "bot.sh"}),
    ("/logs?search=root", "/logs", {"search": "root"}),
    ("/logs?search=decky:decky-03 service:ssh", "/logs", {"search": "decky:decky-03 service:ssh"}),
    ("/logs/histogram (default)", "/logs/histogram", {}),
    (
        "/logs/histogram 15 min over a day",
        "/logs/histogram",
        {
            "start_time": "2026-11-03T00:00:00Z",
            "end_time": "2026-11-03T23:59:59Z",
            "interval_minutes": 15,
        },
    ),
    ("/bounty", "/bounty", {}),
    ("/bounty?bounty_type=credential", "/bounty", {"bounty_type": "credential"}),
    ("/stats", "/stats", {}),
    ("/attackers (sort=recent)", "/attackers", {}),
    ("/attackers?sort_by=active", "/attackers", {"sort_by": "active"}),
    ("/attackers?sort_by=traversals", "/attackers", {"sort_by": "traversals"}),
    ("/attackers/{uuid}", "/attackers/{uuid}", {}),
    ("/attackers/{uuid}/commands", "/attackers/{uuid}/commands", {}),
)
COMMAND_EVENTS = frozenset({"command"})  # of its profiler's command event types, the ones here


def venv(work: Path) -> Path | None:
    """A virtualenv holding DECNET (`DECNET_BENCH_DECNET_VENV`, or made under `work`), or None
    when it cannot be installed here."""
    given = os.environ.get("DECNET_BENCH_DECNET_VENV")
    home = Path(given) if given else work / "decnet-venv"
    python = home / "bin" / "python"
    if _has_decnet(python):
        return home
    print(f"  installing DECNET {VERSION} into {home}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    # greenlet: SQLAlchemy's asyncio needs it and DECNET's metadata does not ask for it.
    done = subprocess.run(
        [str(home / "bin" / "pip"), "install", "-q", f"decnet=={VERSION}", "greenlet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not _has_decnet(python):
        print(f"  DECNET {VERSION} could not be installed:\n{done.stderr[-2000:]}", flush=True)
        return None
    return home


def _has_decnet(python: Path) -> bool:
    if not python.exists():
        return False
    probe = [
        str(python),
        "-c",
        f"import importlib.metadata as m; assert m.version('decnet') == {VERSION!r}",
    ]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def database_path(home: Path, work: Path) -> Path:
    """Where DECNET keeps its SQLite database: beside its package (`decnet.config._ROOT`)."""
    where = subprocess.run(
        [str(home / "bin" / "python"), "-c", "import decnet.config as c; print(c._ROOT)"],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(work),
        cwd=_run_dir(work),  # importing it writes its system log where it runs
    )
    return Path(where.stdout.strip()) / "decnet.db"


def _run_dir(work: Path) -> Path:
    run_dir = work / "decnet-run"
    run_dir.mkdir(exist_ok=True)
    return run_dir


def _environment(work: Path) -> dict[str, str]:
    """DECNET's settings: its admin, its logs in the run dir, no message bus."""
    run_dir = _run_dir(work)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DECNET_")},
        "DECNET_JWT_SECRET": "b" * 48,
        "DECNET_ADMIN_USER": ADMIN,
        "DECNET_ADMIN_PASSWORD": FIRST_PASSWORD,
        "DECNET_INGEST_LOG_FILE": str(run_dir / "decnet.log"),
        "DECNET_SYSTEM_LOGS": str(run_dir / "system.log"),
        "DECNET_BUS_ENABLED": "false",
    }


@contextmanager
def serving(home: Path, work: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`uvicorn decnet.web.api:app` on `port` (its migrations run at startup)."""
    run_dir, env = _run_dir(work), _environment(work)
    command = [str(home / "bin" / "python"), "-m", "uvicorn", "decnet.web.api:app"]
    with (run_dir / "api.log").open("ab") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=run_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"DECNET exited: see {run_dir / 'api.log'}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"DECNET not up in {READY_S:.0f} s") from None
                time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def client(port: int) -> httpx.Client:
    """A client of DECNET's API as the admin of its new database, its first password replaced."""
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=120)
    first = api.post("/auth/login", json={"username": ADMIN, "password": FIRST_PASSWORD})
    first.raise_for_status()
    if first.json().get("must_change_password"):
        api.post(
            "/auth/change-password",
            json={"old_password": FIRST_PASSWORD, "new_password": PASSWORD},
            headers={"Authorization": f"Bearer {first.json()['access_token']}"},
        ).raise_for_status()
        first = api.post("/auth/login", json={"username": ADMIN, "password": PASSWORD})
        first.raise_for_status()
    api.headers["Authorization"] = f"Bearer {first.json()['access_token']}"
    return api


class _Profile:
    """One IP's activity as DECNET's profiler gathers it from the logs (records in time order)."""

    def __init__(self, first: datetime) -> None:
        self.first = self.last = first
        self.events = 0
        self.services: set[str] = set()
        self.deckies: dict[str, None] = {}  # first-contact order
        self.commands: list[dict[str, str]] = []
        self.credentials = 0

    def row(self, ip: str) -> tuple[Any, ...]:
        """Its `attackers` row, as `decnet.profiler.worker._build_record` makes it."""
        deckies = list(self.deckies)
        traversal = " → ".join(deckies) if len(deckies) >= 2 else None
        services = sorted(self.services)
        return (
            str(attacker_uuid(ip)),
            ip,
            _stamp(self.first),
            _stamp(self.last),
            self.events,
            len(services),
            len(deckies),
            json.dumps(services),
            json.dumps(deckies),
            traversal,
            traversal is not None,
            self.credentials,
            self.credentials,
            "[]",
            json.dumps(self.commands),
            0,
            0,
            _stamp(self.last),
        )


def _stamp(ts: datetime) -> str:
    return ts.replace(tzinfo=None).isoformat(" ", "microseconds")


def seed(path: Path, n: int) -> str:
    """The benchmark's `n` records as DECNET's ingester stores them, credentials in its vault,
    and its attackers as its profiler builds them; the uuid of the attacker seen last (on our
    server the stages before may have added attackers of their own)."""
    rows: list[tuple[Any, ...]] = []
    bounties: dict[tuple[str, str], tuple[Any, ...]] = {}
    profiles: dict[str, _Profile] = {}
    for r in records(n):
        stamp = _stamp(r.timestamp)
        fields = json.dumps(r.fields)
        rows.append(
            (stamp, r.decky, r.service, r.event_type, r.attacker_ip, r.raw_line, fields, r.msg)
        )
        ip = r.attacker_ip or ""
        profile = profiles.get(ip) or profiles.setdefault(ip, _Profile(r.timestamp))
        profile.last = r.timestamp
        profile.events += 1
        profile.services.add(r.service)
        profile.deckies.setdefault(r.decky)
        if r.event_type in COMMAND_EVENTS and r.fields.get("command"):
            profile.commands.append(
                {
                    "service": r.service,
                    "decky": r.decky,
                    "command": r.fields["command"],
                    "timestamp": r.timestamp.isoformat(),
                }
            )
        if "password" in r.fields:
            payload = json.dumps(
                {"username": r.fields["username"], "password": r.fields["password"]}
            )
            if (ip, payload) not in bounties:
                bounties[ip, payload] = (stamp, r.decky, r.service, ip, "credential", payload)
                profile.credentials += 1
    with sqlite3.connect(path) as db:
        for table in ("logs", "bounty", "attackers"):
            db.execute(f"DELETE FROM {table}")
        db.executemany(
            "INSERT INTO logs (timestamp, decky, service, event_type, attacker_ip, raw_line,"
            " fields, msg) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO bounty (timestamp, decky, service, attacker_ip, bounty_type, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            bounties.values(),
        )
        db.executemany(
            "INSERT INTO attackers (uuid, ip, first_seen, last_seen, event_count, service_count,"
            " decky_count, services, deckies, traversal_path, is_traversal, bounty_count,"
            " credential_count, fingerprints, commands, rotation_count, ipv6_leak_count,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [profile.row(ip) for ip, profile in profiles.items()],
        )
        db.execute("ANALYZE")
    return str(attacker_uuid(ip))


def compare(
    ours: httpx.Client, theirs: httpx.Client, n: int, samples: int, uuid: str
) -> list[tuple[str, list[float], list[float] | int]]:
    """Per route, our times and DECNET's (ms), the two asked in turn; DECNET's status code
    instead of its times where it cannot answer the route (then only ours are timed).
    `{uuid}` is the attacker the attacker routes name."""
    measured: list[tuple[str, list[float], list[float] | int]] = []
    for label, template, given in ROUTES:
        path = template.replace("{uuid}", uuid)
        offsets = {"100k": min(100_000, n - 50), "0.9N": int(0.9 * n)}
        params = {k: offsets.get(v, v) if isinstance(v, str) else v for k, v in given.items()}
        assert all(isinstance(v, str | int) for v in params.values())
        failed = theirs.get(path, params=params).status_code
        servers = [ours] if failed != 200 else [ours, theirs]
        times: list[list[float]] = [[] for _ in servers]
        for _ in range(samples):
            for server, kept in zip(servers, times, strict=True):
                began = time.perf_counter()
                answer = server.get(path, params=params)
                kept.append((time.perf_counter() - began) * 1000)
                if answer.status_code != 200:
                    raise AssertionError(f"{server.base_url}{path} {params}: {answer.text[:300]}")
        measured.append((label, times[0], times[1] if failed == 200 else failed))
    return measured
