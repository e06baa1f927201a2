"""The leader lock `decnet serve` holds: refused while another session holds it, taken again after
its session is lost, and given up (an error) when another process took it meanwhile."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from domain.shared.errors import UnavailableError
from infrastructure.leadership import AdvisoryLeadership, LeadershipTakenError

pytestmark = pytest.mark.anyio
POLL_S = 0.05


def _lock_sql(name: str) -> str:
    return f"SELECT pg_try_advisory_lock(hashtextextended('{name}', 0))"


def _holder_pid(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int | None:
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(%s, 0)",
        (name,),
    ).fetchone()
    return None if row is None else int(row[0])


async def test_a_held_lock_is_refused_after_the_wait(database_url: str) -> None:
    name = "test:refused"
    with psycopg.connect(database_url, autocommit=True) as other:
        assert other.execute(_lock_sql(name)).fetchone() == (True,)
        lead = AdvisoryLeadership(database_url, name, poll_s=POLL_S)
        with pytest.raises(LeadershipTakenError, match="another process leads"):
            async with lead.hold(wait_s=0.3):
                pytest.fail("led while another session held the lock")
    assert issubclass(LeadershipTakenError, UnavailableError)
    async with lead.hold(wait_s=0.3):  # released with the other session: taken at once
        pass


async def test_a_lost_session_takes_the_lock_again(database_url: str) -> None:
    """The lock's session ends (what a database restart does): `keep` opens another and leads
    again; the lock never stays free for another process to take."""
    name = "test:retaken"
    lead = AdvisoryLeadership(database_url, name, poll_s=POLL_S)
    with psycopg.connect(database_url, autocommit=True) as admin:
        async with lead.hold(wait_s=1.0), anyio.create_task_group() as tg:
            tg.start_soon(lead.keep)
            first = _holder_pid(admin, name)
            assert first is not None
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            with anyio.fail_after(10):
                while (pid := _holder_pid(admin, name)) in (None, first):
                    await anyio.sleep(POLL_S)
            assert pid != first
            tg.cancel_scope.cancel()
        assert _holder_pid(admin, name) is None, "the lock outlived its block"


async def test_a_lock_taken_by_another_process_meanwhile_is_an_error(database_url: str) -> None:
    name = "test:taken"
    lead = AdvisoryLeadership(database_url, name, poll_s=POLL_S, takeover_s=0.3)
    with (
        psycopg.connect(database_url, autocommit=True) as admin,
        psycopg.connect(database_url, autocommit=True) as other,
    ):
        async with lead.hold(wait_s=1.0):
            pid = _holder_pid(admin, name)
            assert pid is not None
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with anyio.fail_after(5):
                while other.execute(_lock_sql(name)).fetchone() != (True,):
                    await anyio.sleep(POLL_S / 5)
            with pytest.raises(LeadershipTakenError), anyio.fail_after(10):
                await lead.keep()
