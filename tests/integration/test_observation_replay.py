"""Replay equivalence of the logs and attackers read models: catching up incrementally in small
batches and rebuilding from position 0 give the same rows and the same ids."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from domain.observations.addresses import canonical_ip
from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta
from projections.attackers_schema import AttackerTables, attacker_uuid
from projections.catalog import all_projections
from projections.logs_schema import LogTables
from projections.runner import ProjectionRunner
from projections.schema import live_schema
from tests.api.harness import fresh_database
from tests.integration.observations_fixtures import BASE_TIME, record, rejected
from tests.integration.readmodel_world import Rows, dump_schema
from tests.integration.stores import event_store

MODELS = ("logs", "histogram", "attackers")
LOGS = LogTables(live_schema("logs")).logs
LOG_COUNTERS = LogTables(live_schema("logs")).counters
ATTACKERS = AttackerTables(live_schema("attackers")).attackers
LOG_ATTACKER_AT = 5  # id, ts, decky, service, event_type, attacker_ip, ...
# `::ffff:a00:1` is how the collector wrote the dual-stack peer 10.0.0.1 before stop 33: the
# read models count it as 10.0.0.1 (`canonical_attacker`).
IPS = ["10.0.0.1", "10.0.0.2", "192.0.2.7", "2001:db8::1", "::ffff:a00:1", None]
EVENTS = [
    "connect",
    "auth",
    "login_attempt",
    "command",
    "shell_input",
    "redis_command",
    "request",
    "file_captured",
    "tcp_syn_fingerprint",
    "tls_client_hello",
    "disconnect",
]
OPTIONAL_FIELDS = {
    "username": st.sampled_from(["root", "admin", ""]),
    "login": st.sampled_from(["bob"]),
    "password": st.sampled_from(["toor", "", "pa\x00ss", 'q"]\\']),
    "pass": st.sampled_from(["123456"]),
    "command": st.sampled_from(["ls -la", "  whoami \n", "cat /etc/passwd", ""]),
    "cmd": st.sampled_from(["CONFIG GET *"]),
    "user_agent": st.sampled_from(["curl/8.4.0", "Nmap Scripting Engine", "sqlmap/1.7"]),
    "headers": st.sampled_from(['{"User-Agent": "Nikto/2.5"}', "{not json", "[]"]),
    "method": st.sampled_from(["GET", "POST"]),
    "path": st.sampled_from(["/", "/admin", "/wp-login.php"]),
    "stored_as": st.sampled_from(["2026-04-18T02:00:00Z_0123456789ab_a.sh", ""]),
    "sha256": st.sampled_from(["a" * 64, "b" * 64]),
    "size": st.sampled_from(["10", "2000000", "big"]),
    "orig_path": st.sampled_from(["/tmp/a.sh"]),
    "ttl": st.sampled_from(["64", "128", "250", "x"]),
    "window": st.sampled_from(["64240", "8192"]),
    "os_guess": st.sampled_from(["Linux", "unknown", ""]),
    "ja3": st.sampled_from(["769,47-53,0-10,23,0"]),
    "client_version": st.sampled_from(["SSH-2.0-libssh_0.9.6", "SSH-2.0-Go"]),
    "note": st.text(max_size=6),
}


@st.composite
def interactions(draw: st.DrawFn) -> InteractionRecord:
    """One record with a random decky, service, event type, attacker and fields."""
    ip = draw(st.sampled_from(IPS))
    fields = draw(st.fixed_dictionaries({}, optional=OPTIONAL_FIELDS))
    if ip is not None and draw(st.booleans()):
        fields = {"src_ip": ip, **fields}
    return InteractionRecord(
        timestamp=BASE_TIME + timedelta(microseconds=draw(st.integers(0, 600_000_000))),
        decky=draw(st.sampled_from(["decky-01", "decky-02", "decky-03"])),
        service=draw(st.sampled_from(["ssh", "http", "ftp", "redis", "mysql"])),
        event_type=draw(st.sampled_from(EVENTS)),
        attacker_ip=ip,
        msg=draw(st.text(max_size=10)),
        fields=fields,
        raw_line=draw(st.text(max_size=10)),
    )


OPERATIONS = st.one_of(
    st.tuples(
        st.just("batch"),
        st.lists(interactions(), min_size=1, max_size=8),
        st.integers(min_value=0, max_value=2),
    ),
    st.tuples(st.just("purge")),
    st.tuples(st.just("catch_up"), st.sampled_from(["logs", "attackers"])),
)


def projections() -> list[Any]:
    """The production instances of the observation read models (whatever their tables)."""
    chosen = [p for p in all_projections() if p.name in MODELS]
    assert {p.name for p in chosen} >= {"logs", "attackers"}
    return chosen


async def dump(pool: AsyncConnectionPool[Any]) -> Rows:
    """Every row of every table of the observation models, by `schema.table`, by primary key."""
    rows: Rows = {}
    for schema in (live_schema(m) for m in MODELS):
        for name, table_rows in (await dump_schema(pool, schema)).items():
            rows[f"{schema}.{name}"] = table_rows
    return rows


def expected_after_last_purge(ops: list[tuple[Any, ...]]) -> list[InteractionRecord]:
    """The records the read models must still show: those after the last purge."""
    kept: list[InteractionRecord] = []
    for op in ops:
        if op[0] == "purge":
            kept = []
        elif op[0] == "batch":
            kept.extend(op[1])
    return kept


async def replay_check(url: str, ops: list[tuple[Any, ...]]) -> None:
    """Incremental catch-ups (3 events at a time, interleaved with appends) equal a rebuild."""
    with event_store(url) as store:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            runner = ProjectionRunner(store, pool, projections(), batch_size=3)
            await runner.setup()
            ingest = IngestCommands(store)
            for op in ops:
                if op[0] == "batch":
                    _, records, dead = op
                    lines = [rejected(i) for i in range(dead)]
                    await asyncio.to_thread(ingest.append, records, lines, None)
                elif op[0] == "purge":
                    await asyncio.to_thread(ingest.purge, CommandMeta(request_id="replay"))
                else:
                    await runner.catch_up(op[1])
            for name in runner.projections:
                assert await runner.catch_up(name) == store.head()
            incremental = await dump(pool)

            rebuilder = ProjectionRunner(store, pool, projections())
            await rebuilder.setup()
            for name in rebuilder.projections:
                assert await rebuilder.rebuild(name) == store.head()
            rebuilt = await dump(pool)
        finally:
            await pool.close()

    assert set(rebuilt) == set(incremental)
    assert {LOGS, LOG_COUNTERS, ATTACKERS} <= set(incremental)
    for table in incremental:
        assert rebuilt[table] == incremental[table], table
    kept = expected_after_last_purge(ops)
    assert len(incremental[LOGS]) == len(kept)
    assert incremental[LOG_COUNTERS] == [("total_logs", len(kept))]
    attributed = [canonical_ip(r.attacker_ip) for r in kept if r.attacker_ip]
    assert {row[1] for row in incremental[ATTACKERS]} == set(attributed)
    assert {row[LOG_ATTACKER_AT] for row in incremental[LOGS]} <= {*attributed, None}
    assert all(row[0] == attacker_uuid(row[1]) for row in incremental[ATTACKERS])
    assert sum(row[4] for row in incremental[ATTACKERS]) == len(attributed)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=st.lists(OPERATIONS, min_size=1, max_size=12))
def test_incremental_logs_and_attackers_equal_a_rebuild(
    pg_admin_url: str, ops: list[tuple[Any, ...]]
) -> None:
    """For any interaction history with purges, small-batch catch-up and a rebuild agree."""
    with fresh_database(pg_admin_url) as url:
        asyncio.run(replay_check(url, ops))


@pytest.mark.parametrize(
    "poison",
    [
        record(1, event_type="tcp_syn_fingerprint", fields={"os_guess": "lin\x00ux", "ttl": "64"}),
        record(1, service="ss\x00h"),
    ],
    ids=["os_guess", "service"],
)
def test_nul_in_an_emulator_record_does_not_stall_the_read_models(
    database_url: str, poison: InteractionRecord
) -> None:
    """Records from in-process emulators may carry NUL; the read models drop it and keep going."""
    asyncio.run(replay_check(database_url, [("batch", [poison, record(2)], 0)]))


def test_an_ipv4_mapped_address_stored_before_is_that_ipv4_attacker(database_url: str) -> None:
    """Records the collector stored as `::ffff:a00:1` (before stop 33) and later ones from
    10.0.0.1 are one attacker, with the IPv4 address in the log rows, rebuilt or not."""
    old, new = record(1, attacker_ip="::ffff:a00:1"), record(2, attacker_ip="10.0.0.1")
    asyncio.run(replay_check(database_url, [("batch", [old], 0), ("batch", [new], 0)]))
