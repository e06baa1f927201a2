"""`decnet serve` takes syslog in a child process of its own; the API process outlives nothing."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import psutil
import pytest

from tests.api.harness import Backend, DecnetServer
from tests.api.observations_support import (
    ObservedServer,
    all_logs,
    collector_counts,
    fields_of,
    ip_block,
    live_postgres,
    observed_server,
    scratch_dir,
    send_tcp,
    syslog_line,
    tag,
    wait_for,
    wait_for_logs,
)


@pytest.fixture
def own(backend: Backend) -> Iterator[ObservedServer]:
    """A server of this test's own (it may be made to exit)."""
    with scratch_dir("serve-processes") as data_dir, observed_server(backend, data_dir) as server:
        yield server


def listener_pid(port: int) -> int:
    """The process listening on TCP `port` on the loopback address."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            assert conn.pid is not None, "listener pid not visible (another user?)"
            return conn.pid
    raise AssertionError(f"nothing listens on {port}")


def intake_of(own: ObservedServer) -> psutil.Process:
    """The server's intake child: the process holding the syslog port."""
    assert own.server.process is not None
    pid = listener_pid(own.syslog_port)
    assert pid != own.server.process.pid, "the API process itself holds the syslog port"
    child = psutil.Process(pid)
    assert child.ppid() == own.server.process.pid, "the syslog listener is not serve's child"
    return child


def test_syslog_is_taken_by_a_child_process_and_shows_in_logs(own: ObservedServer) -> None:
    """The syslog port belongs to a child of `decnet serve`, the API port to serve itself, and
    lines sent to the child are visible in /logs and counted on the parent's /health."""
    assert own.server.process is not None
    assert listener_pid(own.server.port) == own.server.process.pid
    intake_of(own)
    t, ip = tag(), ip_block() + "7"
    lines = [syslog_line(f"sp{t}", "ssh", "login", {"src_ip": ip, "n": str(i)}) for i in range(50)]
    with own.api() as client:
        before = collector_counts(client, own.token)["accepted"]
        send_tcp(own.syslog_port, lines)
        rows = wait_for_logs(client, own.token, f"sp{t}", 50, timeout=30)
        assert len(rows) == 50
        wait_for(
            lambda: (
                True if collector_counts(client, own.token)["accepted"] >= before + 50 else None
            ),
            10,
            "the intake's accepted count on /health",
        )


def test_a_dead_intake_stops_the_server_with_status_1_and_loses_nothing(
    own: ObservedServer,
) -> None:
    """SIGKILL of the intake child: serve exits 1 and stops its PostgreSQL; after a restart,
    every line the child had accepted is in /logs exactly once."""
    t, ip = tag(), ip_block() + "8"
    lines = [syslog_line(f"dk{t}", "ssh", "login", {"src_ip": ip, "n": str(i)}) for i in range(200)]
    with own.api() as client:
        before = collector_counts(client, own.token)["accepted"]
        send_tcp(own.syslog_port, lines)
        wait_for(
            lambda: (
                True if collector_counts(client, own.token)["accepted"] >= before + 200 else None
            ),
            10,
            "200 lines accepted",
        )
    process = own.server.process
    assert process is not None
    intake_of(own).send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == 1, own.server.log_tail()
    own.server.process = None
    wait_for(lambda: True if not live_postgres(own.server.data_dir) else None, 15, "no postgres")
    own.restart()
    with own.api() as client:
        rows = wait_for_logs(client, own.token, f"dk{t}", 200, timeout=60)
        numbers = sorted(int(fields_of(r)["n"]) for r in rows)
        assert numbers == list(range(200)), "a line lost or stored twice"
        assert len(all_logs(client, own.token, f"dk{t}")) == 200


def test_a_stopped_server_leaves_no_intake_behind(own: ObservedServer) -> None:
    """SIGTERM stops the intake child before serve exits 0 (checked by the fixture too)."""
    child = intake_of(own)
    assert own.server.stop() == 0, own.server.log_tail()
    wait_for(lambda: True if not child.is_running() else None, 5, "the intake child gone")
    # An orderly stop is not the parent gone (that warning is for a parent killed or crashed).
    assert "decnet_intake_parent_gone" not in own.server.log_tail(400)
    own.server.start()  # the fixture stops it cleanly


def test_a_second_server_on_the_same_database_is_refused(backend: Backend) -> None:
    """Two servers on one database would run two fleets (every scheduled mutation twice), and a
    user disabled through one would keep a session on the other (its cache hears only the
    commits its own runner applies): the second exits 1 saying why; the first keeps serving."""
    if backend.admin_url is None:
        pytest.skip("the embedded database belongs to its server's data dir")
    with (
        scratch_dir("serve-first") as first_dir,
        observed_server(backend, first_dir) as first,
        scratch_dir("serve-second") as data_dir,
    ):
        second = DecnetServer(data_dir=data_dir, database_url=first.server.database_url)
        done = second.run_cli("serve", timeout=120)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "another process leads this database" in done.stderr, done.stderr
        with first.api() as client:
            assert client.get("/health", first.token).status_code == 200
