"""PostgreSQL unreachable when `decnet serve` starts: it waits for it with a log line, or exits
with one line (no traceback). The outage is a proxy of the test's own: the machine's
PostgreSQL is shared and never stopped."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.api.collector_support import stored_once
from tests.api.harness import (
    EXTERNAL_SKIP_REASON,
    PG_URL_ENV,
    DecnetServer,
    fresh_database,
    run_decnet,
    scratch_dir,
)
from tests.api.observations_support import (
    ObservedServer,
    send_tcp,
    syslog_line,
    tag,
    wait_for,
)
from tests.api.pg_proxy import PgProxy, assert_start_waits, pg_proxy

pytestmark = pytest.mark.external_pg


@pytest.fixture
def proxied() -> Iterator[tuple[PgProxy, str]]:
    """A fresh database and its URL through a proxy that does not listen yet."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    parts = urlsplit(admin_url)
    with (
        fresh_database(admin_url) as url,
        pg_proxy((parts.hostname or "127.0.0.1", parts.port or 5432), listening=False) as proxy,
    ):
        via = urlsplit(url)._replace(
            netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"
        )
        yield proxy, urlunsplit(via)


def test_unreachable_database_at_start_exits_with_one_line(proxied: tuple[PgProxy, str]) -> None:
    """Nothing answers for the database: exit 2 after the wait, one line on stderr."""
    proxy, url = proxied
    with scratch_dir("db-down") as data_dir:
        server = DecnetServer(data_dir, database_url=url, extra_env={"DECNET_DATABASE_WAIT_S": "2"})
        done = run_decnet("serve", env=server.env(), cwd=data_dir, timeout=30)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    last = output.strip().splitlines()[-1]
    where = f"127.0.0.1:{proxy.port}{urlsplit(url).path}"
    assert last.startswith(f"decnet: cannot reach the database at {where} (waited 2 s): "), last
    assert "Connection refused" in last, last
    assert output.count('"database_unreachable"') >= 2, output


def test_start_waits_for_a_database_that_comes_up(proxied: tuple[PgProxy, str]) -> None:
    """The database answers 3 s after the start: the server logs the wait, then serves."""
    proxy, url = proxied
    with scratch_dir("db-late") as data_dir:
        assert_start_waits(DecnetServer(data_dir, database_url=url), proxy, "database_unreachable")


OUTAGE_S = float(os.environ.get("DECNET_TEST_OUTAGE_S", "8"))
READS = ("/logs", "/stats", "/attackers", "/bounty", "/deckies", "/logs/histogram", "/config")


def test_database_cut_mid_ingest_gives_503s_and_loses_nothing(
    proxied: tuple[PgProxy, str],
) -> None:
    """The database goes away mid-ingest: reads answer 503 with a detail (never 500), /health
    503; when it returns every line sent is stored once."""
    proxy, url = proxied
    proxy.restore()
    with serving("db-cut", url) as server:
        t = tag()
        sent = 0

        def send(n: int) -> None:
            nonlocal sent
            send_tcp(server.syslog_port, numbered(t, sent, n))
            sent += n

        send(200)
        proxy.cut()
        statuses: Counter[tuple[str, int]] = Counter()
        deadline = time.monotonic() + OUTAGE_S
        with server.api() as api:
            while time.monotonic() < deadline:
                send(50)
                for path in (*READS, "/health"):
                    response = api.get(path, server.token)
                    statuses[path, response.status_code] += 1
                time.sleep(0.2)
        proxy.restore()
        answering_again(server, 15)
        send(200)
        assert not [k for k in statuses if k[1] >= 500 and k[1] != 503], statuses
        assert ("/health", 503) in statuses, statuses
        stored_once(server, t, sent)


def test_a_stop_during_an_outage_is_prompt(proxied: tuple[PgProxy, str]) -> None:
    """SIGTERM while the database is unreachable stops the server in seconds, exit 0: worker
    threads waiting for a store connection give up once the workers are cancelled. It took
    ~50 s (each store call waited 5 s for a connection, ten times over), past the 10 s most
    supervisors allow before SIGKILL."""
    proxy, url = proxied
    proxy.restore()
    with scratch_dir("db-stop") as data_dir:
        server = DecnetServer(data_dir, database_url=url)
        server.start()
        try:
            proxy.cut()
            time.sleep(6)  # every worker is now waiting for a connection, some retrying
            started = time.monotonic()
            code = server.stop()
            took = time.monotonic() - started
        finally:
            server.stop()
        assert code == 0, server.log_tail()
        assert took < STOP_DURING_OUTAGE_S, f"stopped after {took:.1f} s"


STOP_DURING_OUTAGE_S = 15.0


@contextlib.contextmanager
def serving(name: str, url: str) -> Iterator[ObservedServer]:
    """A started, logged-in server on the database at `url`, stopped cleanly after."""
    with scratch_dir(name) as data_dir:
        server = ObservedServer(DecnetServer(data_dir, database_url=url))
        server.server.start()
        try:
            server.login()
            yield server
        finally:
            server.close()
            server.server.stop_cleanly()


def answering_again(server: ObservedServer, timeout: float) -> None:
    """Wait until reads answer 200 again after the database came back."""
    with server.api() as api:
        wait_for(
            lambda: True if api.get("/logs", server.token).status_code == 200 else None,
            timeout,
            "reads answering again",
            every=0.5,
        )


def numbered(t: str, start: int, count: int) -> list[str]:
    return [
        syslog_line("dbcut", "ssh", "connect", {"run": t, "seq": str(i)})
        for i in range(start, start + count)
    ]


@pytest.fixture
def limited() -> Iterator[tuple[str, str, str]]:
    """A fresh database owned by a role of its own (superusers ignore connection limits):
    the admin URL, the database's name and its URL as that role."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    role = f"decnet_test_role_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        with fresh_database(admin_url) as url:
            name = urlsplit(url).path.lstrip("/")
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {name} OWNER TO {role}")
            parts = urlsplit(url)
            yield (
                admin_url,
                name,
                urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}")),
            )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_connection_slots_exhausted_answer_503_or_200_promptly(
    limited: tuple[str, str, str],
) -> None:
    """The database allows 3 connections and every session is cut: each request (/health too)
    answers within its deadline, 503 with a detail or 200, and ingest resumes without loss."""
    admin_url, name, url = limited
    with serving("db-slots", url) as server:
        t = tag()
        send_tcp(server.syslog_port, numbered(t, 0, 100))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} CONNECTION LIMIT 3")
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        with server.api() as api:
            for i in range(5):
                send_tcp(server.syslog_port, numbered(t, 100 + 10 * i, 10))
                for path in ("/logs", "/stats", "/health"):
                    started = time.monotonic()
                    status = api.get(path, server.token).status_code
                    took = time.monotonic() - started
                    assert status in (200, 503), (path, status)
                    assert took < 12, f"{path} took {took:.1f} s"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} CONNECTION LIMIT -1")
        answering_again(server, 30)  # the pool may still be waiting out its backoff
        stored_once(server, t, 150)
