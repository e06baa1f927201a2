"""Real `decnet` processes of the split topology on one machine: one database, one Redis prefix.

Every process gets its own data dir (its own journal); artifacts are shared as in compose.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.api.harness import (
    BOOTSTRAP_ADMIN,
    BOOTSTRAP_PASSWORD,
    DECNET_BIN,
    JWT_SECRET,
    ApiClient,
    free_port,
    fresh_database,
    scratch_dir,
)

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Process:
    """One `decnet <command>` subprocess with its own data dir and log."""

    command: str
    name: str
    env: dict[str, str]
    data_dir: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [str(DECNET_BIN), self.command],
                env=self.env,
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_log(self, needle: str, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until the log mentions `needle` (the process must stay alive meanwhile)."""
        deadline = time.monotonic() + timeout
        while needle not in self.log_text():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: no {needle!r} in {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def wait_http(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                self.check_alive()
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/schema/openapi.json").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} not serving:\n{self.log_tail()}")
                time.sleep(0.1)

    def wait_tcp(self, port: int, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not listening:\n{self.log_tail()}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        assert self.popen is not None, f"{self.name} was never started"
        code = self.popen.poll()
        assert code is None, f"{self.name} exited {code}:\n{self.log_tail()}"

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs (a crash, an OOM kill, a pulled plug)."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()

    def stop(self) -> int | None:
        """SIGTERM and wait; None if it had to be killed."""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else 0
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return None

    def client(self) -> ApiClient:
        return ApiClient(self.base_url)

    def client_from(self, source_ip: str) -> ApiClient:
        """A client from its own loopback address (its own throttle bucket)."""
        return ApiClient(self.base_url, source_ip=source_ip)


@dataclass
class Topology:
    """api xN, projector xN, collector, fleet sharing one database and one Redis prefix."""

    root: Path
    database_url: str
    redis_url: str
    prefix: str = field(default_factory=lambda: f"decnet-topology-{secrets.token_hex(6)}:")
    syslog_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
        env.update(
            DECNET_DATA_DIR=str(data_dir),
            DECNET_DATABASE_URL=self.database_url,
            DECNET_REDIS_URL=self.redis_url,
            DECNET_REDIS_PREFIX=self.prefix,
            DECNET_ARTIFACTS_ROOT=str(self.root / "artifacts"),
            DECNET_JWT_SECRET=JWT_SECRET,
            # One checkpoint key for every process, as compose.yaml shares it (docs/forensics.md).
            DECNET_SIGNING_KEY_FILE=str(self.root / "signing_key.pem"),
            DECNET_ADMIN_USER=BOOTSTRAP_ADMIN,
            DECNET_ADMIN_PASSWORD=BOOTSTRAP_PASSWORD,
            DECNET_ARGON2_PROFILE="test",
            DECNET_LOG_LEVEL="info",
            DECNET_SYSLOG_HOST="127.0.0.1",
            DECNET_SYSLOG_PORT=str(self.syslog_port),
            DECNET_API_HOST="127.0.0.1",
        )
        env.update(extra)
        return env

    def spawn(self, command: str, name: str, shared: bool = True, **extra: str) -> Process:
        """Start `decnet COMMAND`; without `shared` it gets no Redis (`decnet serve` alone)."""
        data_dir = self.root / name
        port = free_port() if command in ("api", "serve") else None
        if port is not None:
            extra["DECNET_API_PORT"] = str(port)
        env = self.env(data_dir, **extra)
        if not shared:
            del env["DECNET_REDIS_URL"]
        process = Process(command, name, env, data_dir, port)
        process.start()
        self.processes.append(process)
        return process

    def projector(self, name: str) -> Process:
        process = self.spawn("projector", name)
        process.wait_log("leadership_")  # acquired, or standing by
        return process

    def api(self, name: str) -> Process:
        process = self.spawn("api", name)
        process.wait_http()
        return process

    def collector(self, name: str = "collector") -> Process:
        process = self.spawn("collector", name)
        process.wait_tcp(self.syslog_port)
        return process

    def fleet(self, name: str = "fleet") -> Process:
        process = self.spawn("fleet", name)
        process.wait_log("leadership_")
        return process

    def start_rest(self) -> None:
        """A standby projector, api-1, api-2, the collector and the fleet, started together
        (after the leading projector)."""
        standby = self.spawn("projector", "projector-2")
        started = [
            self.spawn("api", "api-1"),
            self.spawn("api", "api-2"),
            self.spawn("collector", "collector"),
            self.spawn("fleet", "fleet"),
        ]
        for process in started[:2]:
            process.wait_http()
        started[2].wait_tcp(self.syslog_port)
        started[3].wait_log("leadership_")
        standby.wait_log("leadership_standby")

    def by_name(self, name: str) -> Process:
        """The (last started) process of that name."""
        return next(p for p in reversed(self.processes) if p.name == name)

    def stop_all(self) -> dict[str, int | None]:
        return {p.name: p.stop() for p in reversed(self.processes)}


def admin_token(api_process: Process, password: str) -> str:
    """Replace the bootstrap admin's password (once per database); a token for it."""
    with api_process.client() as api:
        first = api.token(BOOTSTRAP_ADMIN, BOOTSTRAP_PASSWORD)
        changed = api.change_password(first, BOOTSTRAP_PASSWORD, password)
        assert changed.status_code == 200, changed.text
        return api.token(BOOTSTRAP_ADMIN, password)


@contextlib.contextmanager
def topology(admin_url: str, redis_url: str) -> Iterator[Topology]:
    """An empty topology on a fresh database; every process stopped and the keys deleted after."""
    with scratch_dir("topology") as root, fresh_database(admin_url) as url:
        topo = Topology(root, url, redis_url)
        try:
            yield topo
        finally:
            topo.stop_all()
            _delete_keys(redis_url, topo.prefix)


def _delete_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        stale = list(client.scan_iter(match=f"{prefix}*"))
        if stale:
            client.delete(*stale)
    finally:
        client.close()


def wait_leader(projectors: list[Process], timeout: float = 10.0) -> Process:
    """The one projector whose log says it leads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leaders = [p for p in projectors if "leadership_acquired" in p.log_text()]
        if leaders:
            assert len(leaders) == 1, [p.name for p in leaders]
            return leaders[0]
        time.sleep(0.1)
    raise AssertionError("no projector leads:\n" + "\n".join(p.log_tail() for p in projectors))
