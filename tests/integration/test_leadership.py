"""The projector's and the fleet's leader locks beyond the split processes (ADR 0018's addendum):
`decnet serve` is refused while another session holds one, takes it again after its session is
lost, and gives up (an error) when another process took it meanwhile; maintenance commands leave
a leading projector its models."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import psycopg
import pytest

from domain.shared.errors import UnavailableError
from infrastructure.leadership import AdvisoryLeadership, LeadershipTakenError
from tests.api.harness import clean_env, run_decnet
from tests.api.observations_support import syslog_line

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
        # Closing the session releases the lock as its backend exits, which ends a moment after
        # the client's close returns (longer on a loaded machine).
        with anyio.move_on_after(5):
            while _holder_pid(admin, name) is not None:
                await anyio.sleep(POLL_S / 5)
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


def _cli(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The default server address is a port nothing listens on (9, discard): no server answers.
    env = clean_env(
        DECNET_DATA_DIR=str(data_dir), DECNET_DATABASE_URL=database_url, DECNET_API_PORT="9"
    )
    return run_decnet(*args, env=env, cwd=data_dir, timeout=120)


def _logs(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM decnet_rm_logs.logs").fetchone()
        return int(row[0]) if row else 0


def test_maintenance_commands_leave_a_leading_projector_its_models(
    database_url: str, tmp_path: Path
) -> None:
    """With a projector leading (a server, whose API the command could not reach), `decnet
    projections rebuild` refuses and says how to reach it; `decnet ingest` stores the records
    and leaves them to the leader. With none, ingest projects them itself."""
    lines = [
        syslog_line("lead-a", "ssh", "login_attempt", {"src_ip": f"10.9.0.{i}"}) for i in range(3)
    ]
    log = tmp_path / "in.log"
    log.write_text("\n".join(lines) + "\n")
    assert _cli(database_url, tmp_path, "ingest", str(log)).returncode == 0  # creates the models
    assert _logs(database_url) == 3
    with psycopg.connect(database_url, autocommit=True) as leader:
        assert leader.execute(_lock_sql("decnet-es:projector")).fetchone() == (True,)
        rebuilt = _cli(database_url, tmp_path, "projections", "rebuild", "logs")
        assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr
        assert "another process leads this database" in rebuilt.stderr
        assert "--url" in rebuilt.stderr
        log.write_text(syslog_line("lead-b", "ftp", "connect", {"src_ip": "10.9.1.1"}) + "\n")
        ingested = _cli(database_url, tmp_path, "ingest", str(log))
        assert ingested.returncode == 0, ingested.stderr
        assert "accepted 1" in ingested.stdout
        assert "the projector leading this database projects them" in ingested.stderr
        assert _logs(database_url) == 3, "a command projected beside the leader"
    rebuilt = _cli(database_url, tmp_path, "projections", "rebuild", "logs")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _logs(database_url) == 4
