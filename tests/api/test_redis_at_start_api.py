"""Redis unreachable when a process that shares through it starts (`decnet api`, `projector`,
`fleet`, or `decnet serve` with `DECNET_REDIS_URL`): it waits for Redis with a log line, or exits
2 with one line, never a traceback. The outage is a proxy of the test's own in front of the
machine's Redis, which is shared and never stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.api.harness import (
    EXTERNAL_SKIP_REASON,
    PG_URL_ENV,
    DecnetServer,
    fresh_database,
    run_decnet,
    scratch_dir,
)
from tests.api.pg_proxy import PgProxy, assert_start_waits, pg_proxy

pytestmark = pytest.mark.external_pg

REDIS_URL_ENV = "DECNET_TEST_REDIS_URL"


@pytest.fixture
def database_url() -> Iterator[str]:
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    with fresh_database(admin_url) as url:
        yield url


@pytest.fixture
def redis_proxy() -> Iterator[tuple[PgProxy, str]]:
    """A proxy to the machine's Redis that does not listen yet, and the Redis URL through it."""
    redis_url = os.environ.get(REDIS_URL_ENV)
    if not redis_url:
        pytest.skip(f"set {REDIS_URL_ENV} to a Redis the tests may use")
    parts = urlsplit(redis_url)
    with pg_proxy((parts.hostname or "127.0.0.1", parts.port or 6379), listening=False) as proxy:
        yield proxy, f"redis://127.0.0.1:{proxy.port}/{parts.path.strip('/') or '0'}"


def test_unreachable_redis_at_start_exits_with_one_line(
    database_url: str, redis_proxy: tuple[PgProxy, str]
) -> None:
    """Nothing answers for Redis: exit 2 after the wait, one line on stderr."""
    proxy, redis_url = redis_proxy
    with scratch_dir("redis-down") as data_dir:
        server = DecnetServer(
            data_dir,
            database_url=database_url,
            extra_env={"DECNET_REDIS_URL": redis_url, "DECNET_REDIS_WAIT_S": "2"},
        )
        done = run_decnet("serve", env=server.env(), cwd=data_dir, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"decnet: cannot reach Redis at 127.0.0.1:{proxy.port}/0 (waited 2 s): ")
    assert output.count('"redis_unreachable"') >= 2, output


def test_start_waits_for_a_redis_that_comes_up(
    database_url: str, redis_proxy: tuple[PgProxy, str]
) -> None:
    """Redis answers 3 s after the start: the server logs the wait, then serves."""
    proxy, redis_url = redis_proxy
    with scratch_dir("redis-late") as data_dir:
        env = {"DECNET_REDIS_URL": redis_url}
        server = DecnetServer(data_dir, database_url=database_url, extra_env=env)
        assert_start_waits(server, proxy, "redis_unreachable")
