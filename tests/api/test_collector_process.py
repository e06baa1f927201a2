"""`decnet collector` as a real process on the machine's PostgreSQL and Redis: what it is sent
is stored, each save is announced on Redis, its counters are on `/metrics`, SIGTERM stops it.

The split topology's end-to-end suite (`tests/topology`, run by .ci/run) sends records through
it to the API replicas; this is the collector alone, cheap enough for every run of the gate.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.api.harness import (
    PG_URL_ENV,
    clean_env,
    free_port,
    fresh_database,
    scratch_dir,
)
from tests.api.observations_support import send_tcp, send_udp, syslog_line, wait_for
from tests.integration.observations_fixtures import stored_seqs
from tests.integration.stores import event_store
from tests.topology.harness import Process

pytestmark = [pytest.mark.external_pg, pytest.mark.redis]
REDIS_URL_ENV = "DECNET_TEST_REDIS_URL"
WAIT_S = 30.0


@pytest.fixture
def shared() -> tuple[str, str]:
    """The machine's PostgreSQL (admin URL) and Redis, which a split process needs."""
    admin_url, redis_url = os.environ.get(PG_URL_ENV), os.environ.get(REDIS_URL_ENV)
    if not admin_url or not redis_url:
        pytest.skip(f"set {PG_URL_ENV} and {REDIS_URL_ENV}: the collector shares both")
    return admin_url, redis_url


@contextlib.contextmanager
def wakeups(redis_url: str, channel: str) -> Iterator[Any]:
    """A subscription to the Redis channel on which writers announce their saves."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel)
        yield pubsub
    finally:
        pubsub.close()
        client.close()


def scrape(port: int) -> dict[str, float]:
    """Every sample of `/metrics`, by its name and labels as written."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = (line.rpartition(" ") for line in text.splitlines() if not line.startswith("#"))
    return {name: float(value) for name, _, value in samples if name}


def test_a_collector_stores_announces_and_counts_what_it_is_sent(
    shared: tuple[str, str],
) -> None:
    """Lines over TCP and UDP land in the event store, a wake-up goes out on Redis, `/metrics`
    counts them by transport, and SIGTERM ends the process with status 0."""
    admin_url, redis_url = shared
    prefix = f"decnet-collector-{secrets.token_hex(4)}:"
    syslog_port, metrics_port = free_port(), free_port()
    lines = [syslog_line("coll-01", "ssh", "command", {"seq": str(i)}) for i in range(10)]
    with (
        fresh_database(admin_url) as url,
        scratch_dir("collector") as data_dir,
        wakeups(redis_url, f"{prefix}wake") as announced,
    ):
        env = clean_env(
            DECNET_DATA_DIR=str(data_dir),
            DECNET_DATABASE_URL=url,
            DECNET_REDIS_URL=redis_url,
            DECNET_REDIS_PREFIX=prefix,
            DECNET_SYSLOG_HOST="127.0.0.1",
            DECNET_SYSLOG_PORT=str(syslog_port),
            DECNET_METRICS_PORT=str(metrics_port),
            DECNET_LOG_LEVEL="info",
        )
        collector = Process("collector", "collector", env, Path(data_dir))
        collector.start()
        try:
            collector.wait_tcp(syslog_port, timeout=WAIT_S)
            send_tcp(syslog_port, lines[:5])
            send_udp(syslog_port, lines[5:])
            with event_store(url) as store:
                wait_for(
                    lambda: sorted(stored_seqs(store)) == list(range(10)) or None,
                    WAIT_S,
                    "the ten records in the event store",
                    every=0.1,
                )
            assert wait_for(lambda: announced.get_message(timeout=1.0), WAIT_S, "a wake-up")
            samples = scrape(metrics_port)
            assert samples['decnet_records_journaled_total{transport="tcp"}'] == 5
            assert samples['decnet_records_journaled_total{transport="udp"}'] == 5
            assert samples["decnet_records_accepted_total"] == 10
            assert samples["decnet_ingest_batch_records_sum"] == 10
        finally:
            code = collector.stop()
        assert code == 0, collector.log_tail()
        assert "decnet_collecting" in collector.log_text()
