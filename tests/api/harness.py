"""A real `decnet serve` process for black-box tests, and an HTTP client that speaks to it.

Reusable by every suite that needs the server (ingestion, fleet, SSE): start one with
`Backend.server(...)` or `running_server(...)`, talk to it with `ApiClient`, and let the context
manager prove it stops cleanly.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg

API_PREFIX = "/api/v1"
JWT_SECRET = "decnet-es-test-secret-0123456789-abcdefghijklmnop"
BOOTSTRAP_ADMIN = "admin"
BOOTSTRAP_PASSWORD = "bootstrap-pw-0001"
DECNET_BIN = Path(sys.executable).with_name("decnet")
PG_URL_ENV = "DECNET_TEST_PG_URL"
EXTERNAL_SKIP_REASON = "DECNET_TEST_PG_URL not set: external PostgreSQL tests skipped"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

# Distinct loopback source addresses give a test its own per-IP login throttle bucket.
_loopback_hosts = itertools.count(2)


def free_port(count: int = 1) -> int:
    """The first of `count` consecutive ports free for both TCP and UDP on 127.0.0.1 right now
    (the collector listens on both), below the kernel's range of ephemeral ports: a port the
    kernel hands out from that range can be taken by an outgoing connection (the server's own,
    to PostgreSQL, while it starts) before the server binds it."""
    top = _ephemeral_low() - count
    while True:
        port = random.randrange(10_000, top)
        if all(_bindable(p) for p in range(port, port + count)):
            return port


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            tcp.bind(("127.0.0.1", port))
            udp.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def fresh_source_ip() -> str:
    """A loopback address (127.0.x.y) no other client of this test process uses."""
    n = next(_loopback_hosts)
    return f"127.0.{n // 250}.{n % 250 + 2}"


def create_database(admin_url: str) -> str:
    """Create an empty database with a random name next to `admin_url`; return its URL."""
    name = f"decnet_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_database`, ending any session still on it."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith("decnet_test_"), f"refusing to drop {name!r}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new random database for the duration of the block."""
    url = create_database(admin_url)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private temporary directory, removed afterwards.

    Not pytest's basetemp: concurrent pytest runs of the same user prune each other's old
    basetemps, which would delete a data dir under a running PostgreSQL.
    """
    path = Path(tempfile.mkdtemp(prefix=f"decnet-{prefix}-"))
    path.chmod(0o755)  # as root, embedded PostgreSQL runs as its own user and must reach pgdata
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """PostgreSQL processes whose command line mentions `data_dir`."""
    needle = str(data_dir.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "postgres" in (proc.info["name"] or "") + cmdline and needle in cmdline:
                found.append(proc)
    return found


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without its `DECNET_*` settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(settings)
    return env


def run_decnet(
    *args: str,
    env: dict[str, str],
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run a `decnet` command to its end, its output captured as text."""
    return subprocess.run(
        [str(DECNET_BIN), *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class DecnetServer:
    """One `decnet serve` subprocess on a free port with its own data dir."""

    data_dir: Path
    database_url: str | None = None
    developer: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    syslog_port: int = field(default_factory=free_port)
    admin_password: str = BOOTSTRAP_PASSWORD
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.starts}.log"

    @property
    def jwt_secret(self) -> str | None:
        """The signing secret, or None when a developer-mode server generated its own."""
        return None if self.developer else JWT_SECRET

    def env(self) -> dict[str, str]:
        """The process environment: cheapest argon2, a real secret outside developer mode."""
        env = clean_env()
        env.update(
            DECNET_DATA_DIR=str(self.data_dir),
            DECNET_API_HOST="127.0.0.1",
            DECNET_API_PORT=str(self.port),
            DECNET_SYSLOG_HOST="127.0.0.1",
            DECNET_SYSLOG_PORT=str(self.syslog_port),
            DECNET_ADMIN_USER=BOOTSTRAP_ADMIN,
            DECNET_ADMIN_PASSWORD=BOOTSTRAP_PASSWORD,
            DECNET_ARGON2_PROFILE="test",
            DECNET_LOG_LEVEL="info",
        )
        if self.developer:
            env["DECNET_DEVELOPER"] = "true"
        else:
            env["DECNET_JWT_SECRET"] = JWT_SECRET
        if self.database_url:
            env["DECNET_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Spawn the server and wait until it answers HTTP on its own port.

        A port chosen free can be taken by another process before the server binds it; then the
        server exits and we start again on new ports.
        """
        for _ in range(3):
            self._spawn()
            if self._wait_ready():
                return
            self.port, self.syslog_port = free_port(), free_port()
        raise RuntimeError(f"decnet serve found no free port:\n{self.log_tail()}")

    def _spawn(self) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(DECNET_BIN), "serve"],
                env=self.env(),
                cwd=self.data_dir,  # keeps a stray `.env` in the repo from leaking in
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_ready(self) -> bool:
        """True once our process listens and answers; False if it lost a port race."""
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.process = None
                    if "address already in use" in self.log_tail().lower():
                        return False
                    raise RuntimeError(f"decnet serve exited early:\n{self.log_tail()}")
                # Only our own listener counts: another server may answer on a stolen port.
                if self._listening():
                    with contextlib.suppress(httpx.TransportError):
                        if client.get("/schema/openapi.json").status_code == 200:
                            return True
                time.sleep(0.1)
        self.process.kill()
        self.process.wait()
        self.process = None
        raise RuntimeError(f"decnet serve not ready in {READY_TIMEOUT_S}s:\n{self.log_tail()}")

    def _listening(self) -> bool:
        assert self.process is not None
        with contextlib.suppress(psutil.Error):
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port
                for c in psutil.Process(self.process.pid).net_connections(kind="tcp")
            )
        return False

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code, or None if it had to be killed after the timeout."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None

    def stop_cleanly(self) -> None:
        """Stop, asserting exit 0 within the timeout and no PostgreSQL left for the data dir."""
        code = self.stop()
        assert code == 0, f"decnet serve exited {code!r}:\n{self.log_tail()}"
        assert _eventually_empty(lambda: postgres_processes(self.data_dir)), (
            f"postgres still running for {self.data_dir}"
        )

    def run_cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run another `decnet` command with the server's environment."""
        return run_decnet(*args, env=self.env(), cwd=self.data_dir, timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, source_ip: str | None = None) -> ApiClient:
        """A client for this server, optionally from its own loopback address."""
        return ApiClient(self.base_url, source_ip=source_ip)


def _eventually_empty(probe: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while probe():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    database_url: str | None = None,
    developer: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[DecnetServer]:
    """A started server; on exit it must stop with code 0 and leave no PostgreSQL behind."""
    server = DecnetServer(
        data_dir=data_dir,
        database_url=database_url,
        developer=developer,
        extra_env=extra_env or {},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop_cleanly()


def check_protocol(response: httpx.Response) -> None:
    """SPEC §2 invariants every response must keep (an httpx response hook)."""
    assert response.headers.get("x-request-id"), f"no X-Request-ID on {response.request.url}"
    if response.status_code == 401:
        assert response.headers.get("www-authenticate") == "Bearer", "401 without Bearer challenge"
    if response.status_code >= 400:
        response.read()
        body = response.json()
        assert isinstance(body, dict), body
        assert isinstance(body.get("detail"), str), body
        assert "Traceback" not in body["detail"], body


class ApiClient:
    """httpx on `/api/v1` with bearer helpers; checks the protocol invariants on every reply."""

    def __init__(self, base_url: str, source_ip: str | None = None) -> None:
        transport = httpx.HTTPTransport(local_address=source_ip) if source_ip else None
        self.http = httpx.Client(
            base_url=base_url + API_PREFIX,
            timeout=15.0,
            transport=transport,
            event_hooks={"response": [check_protocol]},
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request; `token` becomes the bearer header."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, token, **kwargs)

    def put(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, token, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, token, **kwargs)

    def login(self, username: str, password: str) -> httpx.Response:
        return self.post("/auth/login", json={"username": username, "password": password})

    def token(self, username: str, password: str) -> str:
        """A bearer token for valid credentials."""
        response = self.login(username, password)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def change_password(self, token: str, old: str, new: str) -> httpx.Response:
        return self.post(
            "/auth/change-password", token, json={"old_password": old, "new_password": new}
        )

    def set_limit(self, token: str, limit: object) -> httpx.Response:
        return self.put("/config/deployment-limit", token, json={"deployment_limit": limit})

    def set_interval(self, token: str, interval: object) -> httpx.Response:
        return self.put(
            "/config/global-mutation-interval", token, json={"global_mutation_interval": interval}
        )

    def set_role(self, token: str, user_id: str, role: object) -> httpx.Response:
        return self.put(f"/config/users/{user_id}/role", token, json={"role": role})

    def reset_password(self, token: str, user_id: str, new: object) -> httpx.Response:
        return self.put(
            f"/config/users/{user_id}/reset-password", token, json={"new_password": new}
        )

    def create_user(self, admin_token: str, username: str, password: str, role: str) -> str:
        """Register a user (who must change the password); return its uuid."""
        response = self.post(
            "/config/users",
            admin_token,
            json={"username": username, "password": password, "role": role},
        )
        assert response.status_code == 200, response.text
        uuid: str = response.json()["uuid"]
        return uuid


@dataclass
class Account:
    """A user the tests created, with its current password and a live token."""

    uuid: str
    username: str
    password: str
    role: str
    token: str


def unique_name(prefix: str) -> str:
    """A username no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def make_account(
    api: ApiClient, admin_token: str, role: str, must_change: bool = False, prefix: str = "user"
) -> Account:
    """Create a user; unless `must_change`, it has already chosen its own password."""
    username = unique_name(prefix)
    initial = "initial-pw-" + secrets.token_hex(4)
    uuid = api.create_user(admin_token, username, initial, role)
    token = api.token(username, initial)
    if must_change:
        return Account(uuid, username, initial, role, token)
    chosen = "chosen-pw-" + secrets.token_hex(4)
    assert api.change_password(token, initial, chosen).status_code == 200
    return Account(uuid, username, chosen, role, api.token(username, chosen))


@dataclass(frozen=True)
class Backend:
    """Where a server's PostgreSQL comes from: embedded (`admin_url` None) or an external server."""

    name: str
    admin_url: str | None = None

    @contextlib.contextmanager
    def database_url(self) -> Iterator[str | None]:
        """None for embedded; else a fresh random database dropped afterwards."""
        if self.admin_url is None:
            yield None
            return
        with fresh_database(self.admin_url) as url:
            yield url

    @contextlib.contextmanager
    def server(
        self, data_dir: Path, developer: bool = False, extra_env: dict[str, str] | None = None
    ) -> Iterator[DecnetServer]:
        """A running server on this backend, stopped (and its database dropped) on exit."""
        with (
            self.database_url() as url,
            running_server(data_dir, url, developer, extra_env) as server,
        ):
            yield server


def one_backend() -> Backend:
    """The machine's PostgreSQL when configured (quicker to load), else the embedded one."""
    url = os.environ.get(PG_URL_ENV)
    return Backend("external", url) if url else Backend("embedded")
