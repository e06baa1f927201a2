"""Shared fixtures and fakes for the contract suites."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from application.store import EventStoreApp
from domain.fleet.decky import DeckySpec
from infrastructure.redis.client import RedisKeys, open_redis
from tests.api.harness import EXTERNAL_SKIP_REASON, PG_URL_ENV, fresh_database
from tests.fakes import MemorySink
from tests.integration.stores import event_store


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only (the runtimes are asyncio code)."""
    return "asyncio"


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL (DECNET_TEST_PG_URL), dropped afterwards."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    with fresh_database(admin_url) as url:
        yield url


@pytest.fixture
def pg_store(pg_database_url: str) -> Iterator[EventStoreApp]:
    """The event store on that database, configured as production configures it."""
    with event_store(pg_database_url) as store:
        yield store


@pytest.fixture
def sink() -> MemorySink:
    """A fresh in-memory record sink."""
    return MemorySink()


def make_spec(
    name: str,
    ip: str,
    services: tuple[str, ...],
    service_config: dict[str, dict[str, str]] | None = None,
    hostname: str = "files-01",
) -> DeckySpec:
    """A decky spec with plausible defaults for everything the runtime does not care about."""
    octets = [int(part) for part in ip.split(".")]
    return DeckySpec(
        name=name,
        ip=ip,
        mac="02:42:" + ":".join(f"{o:02x}" for o in octets),
        hostname=hostname,
        distro="ubuntu-22.04",
        archetype=None,
        nmap_os="linux",
        services=services,
        service_config=service_config or {},
    )


REDIS_URL_ENV = "DECNET_TEST_REDIS_URL"
REDIS_SKIP_REASON = f"set {REDIS_URL_ENV} (e.g. redis://127.0.0.1:6379/0) to run the Redis adapters"


@pytest.fixture
async def redis_shared() -> AsyncIterator[tuple[Redis, RedisKeys]]:
    """A client on DECNET_TEST_REDIS_URL and a key prefix of this test alone (deleted after)."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(REDIS_SKIP_REASON)
    keys = RedisKeys(f"decnet-test:{uuid.uuid4().hex}:")
    async with open_redis(url) as client:
        try:
            yield client, keys
        finally:
            stale = [key async for key in client.scan_iter(match=f"{keys.prefix}*")]
            if stale:
                await client.delete(*stale)
