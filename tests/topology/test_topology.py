"""The split topology as real processes: api x2, projector x2, collector, fleet.

One machine, the machine's PostgreSQL (DECNET_TEST_PG_URL) and Redis (DECNET_TEST_REDIS_URL).
Run with: pytest tests/topology -m topology
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.fleet_support import banner, deckies, deploy
from tests.api.harness import (
    API_PREFIX,
    BOOTSTRAP_ADMIN,
    PG_URL_ENV,
    fresh_database,
    fresh_source_ip,
    scratch_dir,
)
from tests.api.observations_support import open_stream, send_tcp, syslog_line
from tests.topology.harness import Process, Topology, topology, wait_leader
from tests.topology.harness import admin_token as admin_token_of
from tests.topology.readmodels import clean_rebuild, dump_live

pytestmark = pytest.mark.topology

REDIS_URL_ENV = "DECNET_TEST_REDIS_URL"
ADMIN_PASSWORD = "topology-admin-pw-01"
TAKEOVER_S = 5.0
KILL_RECORDS = 4_000  # sent in chunks while the leading projector is killed
CHUNK = 200


@pytest.fixture(scope="module")
def topo() -> Iterator[Topology]:
    """The whole topology, started once for the module (the takeover test runs last)."""
    admin_url, redis_url = os.environ.get(PG_URL_ENV), os.environ.get(REDIS_URL_ENV)
    if not admin_url or not redis_url:
        pytest.skip(f"set {PG_URL_ENV} and {REDIS_URL_ENV} to run the topology")
    with topology(admin_url, redis_url) as t:
        t.projector("projector-1")
        t.start_rest()
        yield t


@pytest.fixture(scope="module")
def admin_token(topo: Topology) -> str:
    """The bootstrap admin with its password changed (through replica A)."""
    return admin_token_of(topo.by_name("api-1"), ADMIN_PASSWORD)


def records(decky: str, count: int, start: int = 0) -> list[str]:
    """`count` numbered records of one decky."""
    return [
        syslog_line(decky, "ssh", "command", {"command": f"echo {i}", "seq": str(i)})
        for i in range(start, start + count)
    ]


def logs_total(api_process: Process, token: str, decky: str) -> int:
    """How many logs the API shows for one decky."""
    with api_process.client() as api:
        response = api.get("/logs", token, params={"search": f"decky:{decky}", "limit": 1})
        assert response.status_code == 200, response.text
        return int(response.json()["total"])


def wait_total(
    api_process: Process, token: str, decky: str, count: int, timeout: float, exact: bool = True
) -> None:
    """Wait until the API shows `count` logs of `decky` (exactly that many, if `exact`)."""
    deadline = time.monotonic() + timeout
    while (seen := logs_total(api_process, token, decky)) < count:
        assert time.monotonic() < deadline, f"{seen} of {count} logs after {timeout}s"
        time.sleep(0.2)
    assert seen == count or not exact, f"{seen} logs for {count} records sent"


def stream_rows(url: str, token: str, decky: str, count: int, out: list[dict[str, Any]]) -> None:
    """Collect `logs` frames' (id, rows) from one replica until `count` rows arrived."""
    params = {"search": f"decky:{decky}"}
    headers = {"Authorization": f"Bearer {token}"}
    with open_stream(url, params, headers, read_timeout=20.0) as sse:
        seen = 0
        while seen < count:
            event = sse.next()
            assert event is not None, "stream ended"
            if event.kind == "logs":
                rows = event.payload()["data"]
                out.append({"id": event.id, "ids": [r["id"] for r in rows], "rows": rows})
                seen += len(rows)


def test_both_replicas_stream_the_same_frames(topo: Topology, admin_token: str) -> None:
    """Records sent to the collector reach SSE clients of both API replicas, frame for frame."""
    decky = f"topo-{secrets.token_hex(3)}"
    count = 300
    frames: dict[str, list[dict[str, Any]]] = {"api-1": [], "api-2": []}
    readers = [
        threading.Thread(
            target=stream_rows,
            args=(f"{topo.by_name(n).base_url}{API_PREFIX}/stream", admin_token, decky, count, out),
        )
        for n, out in frames.items()
    ]
    for reader in readers:
        reader.start()
    time.sleep(1.5)  # both streams subscribed (their snapshot frames are out)
    for start in range(0, count, 100):
        send_tcp(topo.syslog_port, records(decky, 100, start))
    for reader in readers:
        reader.join(timeout=60)
        assert not reader.is_alive(), "a replica's stream did not deliver every record"
    rows_a = [row for frame in frames["api-1"] for row in frame["rows"]]
    rows_b = [row for frame in frames["api-2"] for row in frame["rows"]]
    assert len(rows_a) == count
    assert rows_a == rows_b
    assert [f["ids"] for f in frames["api-1"]] == [f["ids"] for f in frames["api-2"]]


def test_a_client_resumes_on_the_other_replica_from_its_last_id(
    topo: Topology, admin_token: str
) -> None:
    """A client that read some records from replica A and reconnects to replica B with
    `Last-Event-ID` gets exactly the records it missed, none twice."""
    decky = f"resume-{secrets.token_hex(3)}"
    first: list[dict[str, Any]] = []
    url_a = f"{topo.by_name('api-1').base_url}{API_PREFIX}/stream"
    reader = threading.Thread(target=stream_rows, args=(url_a, admin_token, decky, 50, first))
    reader.start()
    time.sleep(1.5)
    send_tcp(topo.syslog_port, records(decky, 50))
    reader.join(timeout=60)
    assert not reader.is_alive()
    last_id = first[-1]["id"]
    send_tcp(topo.syslog_port, records(decky, 70, start=50))  # while the client is away
    rest: list[dict[str, Any]] = []
    url_b = f"{topo.by_name('api-2').base_url}{API_PREFIX}/stream"
    with open_stream(
        url_b,
        {"search": f"decky:{decky}"},
        {"Authorization": f"Bearer {admin_token}", "Last-Event-ID": str(last_id)},
        read_timeout=20.0,
    ) as sse:
        while sum(len(frame) for frame in rest) < 70:
            event = sse.next()
            assert event is not None, "stream ended"
            if event.kind == "logs":
                rest.append(event.payload()["data"])
    seqs = [
        json.loads(row["fields"])["seq"]
        for rows in [frame["rows"] for frame in first] + rest
        for row in rows
    ]
    assert sorted(seqs, key=int) == [str(i) for i in range(120)]


def test_a_logout_on_one_replica_is_refused_on_the_other(topo: Topology, admin_token: str) -> None:
    """A token logged out through replica A is refused by replica B at once."""
    with topo.by_name("api-1").client() as a, topo.by_name("api-2").client() as b:
        token = a.token(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)
        assert b.get("/auth/me", token).status_code == 200
        assert a.post("/auth/logout", token).status_code == 204
        assert b.get("/auth/me", token).status_code == 401
        assert b.get("/auth/me", admin_token).status_code == 200  # other tokens unaffected


def test_an_sse_ticket_from_one_replica_opens_a_stream_on_the_other(
    topo: Topology, admin_token: str
) -> None:
    """A ticket issued by replica A is redeemed once by replica B."""
    with topo.by_name("api-1").client() as a:
        response = a.post("/auth/sse-ticket", admin_token)
        assert response.status_code == 200, response.text
        ticket = response.json()["ticket"]
    url = f"{topo.by_name('api-2').base_url}{API_PREFIX}/stream"
    with open_stream(url, {"ticket": ticket}) as sse:
        assert sse.response.status_code == 200
    with open_stream(url, {"ticket": ticket}) as sse:
        assert sse.response.status_code == 401


def test_the_login_throttle_counts_across_replicas(topo: Topology) -> None:
    """Failures from one address split over both replicas refuse its next login on either."""
    source = fresh_source_ip()
    with (
        topo.by_name("api-1").client_from(source) as a,
        topo.by_name("api-2").client_from(source) as b,
    ):
        for i in range(10):
            api = a if i % 2 else b
            response = api.login(f"nobody-{secrets.token_hex(3)}", "wrong-password")
            assert response.status_code == 401, response.text
        refused = a.login(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)
        assert refused.status_code == 429, refused.text
        assert b.login(BOOTSTRAP_ADMIN, ADMIN_PASSWORD).status_code == 429


def test_a_deploy_through_one_replica_runs_in_the_fleet_process(
    topo: Topology, admin_token: str
) -> None:
    """A deploy answered by replica A runs its decky in the fleet process; replica B lists it
    running, and the emulator's records reach the API through the fleet's own journal."""
    decky = f"topo-{secrets.token_hex(2)}"
    with topo.by_name("api-1").client() as a, topo.by_name("api-2").client() as b:
        response = deploy(a, admin_token, f"[{decky}]\nservices = ftp\nip = 127.91.7.1\n")
        assert response.status_code == 200, response.text
        shown = deckies(b, admin_token)[decky]
        assert shown["status"] == "running", shown
        assert banner("127.91.7.1", shown["ports"]["ftp"]).startswith(b"220 ")
        wait_total(topo.by_name("api-2"), admin_token, decky, 1, timeout=30, exact=False)
        assert b.post(f"/deckies/{decky}/mutate", admin_token).status_code == 200


def test_both_replicas_verify_what_the_projector_signed(topo: Topology, admin_token: str) -> None:
    """One key file for every process: the replicas hold the key the projector signs with."""
    decky = f"signed-{secrets.token_hex(3)}"
    send_tcp(topo.syslog_port, records(decky, 3))
    for name in ("api-1", "api-2"):
        process = topo.by_name(name)
        wait_total(process, admin_token, decky, 3, timeout=30)
        with process.client() as api:
            deadline = time.monotonic() + 30
            while api.get("/audit/checkpoints", admin_token).json()["total"] == 0:
                assert time.monotonic() < deadline, "no checkpoint signed in 30 s"
                time.sleep(0.5)
            signing = api.get("/health", admin_token).json()["components"]["signing_key"]
            assert signing["status"] == "ok", signing
            verified = api.get("/audit/verify", admin_token).json()
            assert verified["ok"] is True, verified
            assert verified["checkpoints_checked"] >= 1, verified


def test_the_standby_projector_takes_over_and_the_models_match_a_rebuild(
    topo: Topology, admin_token: str
) -> None:
    """kill -9 of the leading projector mid-ingest: the standby leads within 5 s, every record
    is projected once, and the read models equal a clean rebuild of the same events."""
    standby = topo.by_name("projector-2")
    leader = wait_leader([topo.by_name("projector-1"), standby])
    assert leader.name == "projector-1"
    decky = f"kill-{secrets.token_hex(3)}"
    killed_at: list[float] = []
    for n, start in enumerate(range(0, KILL_RECORDS, CHUNK)):
        send_tcp(topo.syslog_port, records(decky, CHUNK, start))
        if n == 5:
            leader.kill9()
            killed_at.append(time.monotonic())
        time.sleep(0.05)
    standby.wait_log("leadership_acquired", timeout=TAKEOVER_S - (time.monotonic() - killed_at[0]))
    wait_total(topo.by_name("api-2"), admin_token, decky, KILL_RECORDS, timeout=120)
    topo.stop_all()
    projected = dump_live(topo.database_url)
    admin_url = os.environ[PG_URL_ENV]
    with fresh_database(admin_url) as copy_url, scratch_dir("rebuild") as data_dir:
        rebuilt = clean_rebuild(topo.database_url, copy_url, Path(data_dir))
    assert projected.keys() == rebuilt.keys()
    for table, rows in projected.items():
        assert rows == rebuilt[table], f"{table} differs from a clean rebuild"
