"""The split topology while its Redis is down (killed, or stopped with SIGSTOP), and after it
returns, without restarting any decnet process (ADR 0017, "When Redis is down" in
docs/operations.md).

The topology runs on a redis-server of this module's own (started here, on a free port), so the
test can kill it; PostgreSQL is the machine's (DECNET_TEST_PG_URL).
Run with: pytest tests/topology -m topology
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from tests.api.harness import (
    API_PREFIX,
    BOOTSTRAP_ADMIN,
    PG_URL_ENV,
    free_port,
    fresh_source_ip,
    scratch_dir,
)
from tests.api.observations_support import (
    SseEvent,
    SseReader,
    open_stream,
    send_tcp,
    send_udp,
    syslog_line,
    wait_for,
)
from tests.topology.harness import Process, Topology, admin_token, topology

pytestmark = pytest.mark.topology

ADMIN_PASSWORD = "outage-admin-pw-01"
ANSWER_S = 4.5  # a Redis-dependent request answers (503) within this, even on a silent Redis
NOTICE_S = 3.0  # a process notices that Redis is gone (failed reads retried every 0.5 s)
RECOVER_S = 5.0  # and that it is back
RECORDS = 600


@dataclass
class RedisServer:
    """A redis-server of this module alone (no persistence), which tests kill and restart."""

    port: int
    directory: str
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._pings():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: connections are reset, the port refuses, every key is lost."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()

    def signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        self.popen.send_signal(sig)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)
            self.popen.terminate()
            self.popen.wait(timeout=10)

    def _pings(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@dataclass
class World:
    topo: Topology
    redis: RedisServer
    token: str  # the admin's, valid throughout

    @contextlib.contextmanager
    def outage(self, kind: str) -> Iterator[None]:
        """Redis killed (and restarted empty) or stopped (and continued) around the block."""
        if kind == "kill":
            self.redis.kill()
        else:
            self.redis.signal(signal.SIGSTOP)
        try:
            time.sleep(NOTICE_S)
            yield
        finally:
            if kind == "kill":
                self.redis.start()
            else:
                self.redis.signal(signal.SIGCONT)
        self.check_alive()
        self.recovered()

    def recovered(self, timeout: float = 20.0) -> None:
        """Each API replica uses Redis again (its reader reconnected, its hold after a failure
        over), so the next test starts from a recovered topology, whatever the machine's load."""
        for name in ("api-1", "api-2"):
            with self.api(name).client() as api:
                wait_for(
                    lambda api=api: (
                        api.post("/auth/sse-ticket", self.token).status_code == 200 or None
                    ),
                    timeout,
                    f"{name} using Redis again",
                    every=0.2,
                )

    def api(self, name: str) -> Process:
        return self.topo.by_name(name)

    def check_alive(self) -> None:
        for process in self.topo.processes:
            process.check_alive()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The topology (projector x2, api x2, collector, fleet) on a Redis of its own."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(f"set {PG_URL_ENV} to run the topology")
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH (Debian's redis-server package)")
    with scratch_dir("redis-outage") as directory:
        server = RedisServer(free_port(), str(directory))
        server.start()
        try:
            with topology(admin_url, server.url) as topo:
                topo.projector("projector-1")
                topo.start_rest()
                yield World(topo, server, admin_token(topo.by_name("api-1"), ADMIN_PASSWORD))
                for process in topo.processes:
                    process.check_alive()
        finally:
            server.stop()


def timed(request: Callable[[], httpx.Response]) -> httpx.Response:
    """The response, checked to come within `ANSWER_S`."""
    began = time.monotonic()
    response = request()
    assert time.monotonic() - began < ANSWER_S, f"answered after {time.monotonic() - began:.1f}s"
    return response


def unavailable(response: httpx.Response, mentions: str) -> None:
    """A 503 whose JSON detail names what is unavailable."""
    assert response.status_code == 503, response.text
    assert mentions in response.json()["detail"], response.text


def logs_total(api: Process, token: str, decky: str) -> int:
    with api.client() as client:
        response = timed(lambda: client.get("/logs", token, params={"search": f"decky:{decky}"}))
        assert response.status_code == 200, response.text
        return int(response.json()["total"])


def wait_total(api: Process, token: str, decky: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := logs_total(api, token, decky)) < count:
        assert time.monotonic() < deadline, f"{seen} of {count} logs after {timeout}s"
        time.sleep(0.2)
    assert seen == count, f"{seen} logs for {count} records sent"


def records(decky: str, count: int, start: int = 0) -> list[str]:
    return [
        syslog_line(decky, "ssh", "command", {"command": f"echo {i}", "src_ip": "203.0.113.9"})
        for i in range(start, start + count)
    ]


def test_records_sent_while_redis_is_down_are_all_stored_and_read(world: World) -> None:
    """Every record sent to the collector during the outage (TCP and UDP) is stored and listed
    by /logs while Redis is still down (the projector's poll carries it, no wake-up), and
    /stats and /attackers keep answering from PostgreSQL."""
    decky = f"outage-{secrets.token_hex(3)}"
    api = world.api("api-2")
    with world.outage("kill"):
        for start in range(0, RECORDS, 100):
            send_tcp(world.topo.syslog_port, records(decky, 100, start))
        send_udp(world.topo.syslog_port, records(decky, 20, RECORDS))
        wait_total(api, world.token, decky, RECORDS + 20)
        with api.client() as client:
            stats = timed(lambda: client.get("/stats", world.token))
            assert stats.status_code == 200, stats.text
            assert stats.json()["total_logs"] >= RECORDS + 20
            attackers = timed(
                lambda: client.get("/attackers", world.token, params={"search": "203.0.113.9"})
            )
            assert attackers.status_code == 200, attackers.text
            assert attackers.json()["total"] == 1
    wait_total(world.api("api-1"), world.token, decky, RECORDS + 20)


def test_a_collector_restarted_while_redis_is_down_starts_and_stores(world: World) -> None:
    """A collector restarted during the outage (an upgrade, a crash) listens and stores at once:
    it needs Redis only to wake the projector, which polls meanwhile."""
    decky = f"restart-{secrets.token_hex(3)}"
    old = world.topo.by_name("collector")
    with world.outage("kill"):
        assert old.stop() == 0
        world.topo.processes.remove(old)
        world.topo.collector("collector")  # waits until it listens, alive meanwhile
        send_tcp(world.topo.syslog_port, records(decky, 50))
        wait_total(world.api("api-1"), world.token, decky, 50)


@pytest.mark.parametrize("kind", ["kill", "stop"])
def test_redis_dependent_routes_answer_503_promptly_while_it_is_down(
    world: World, kind: str
) -> None:
    """Login (throttle), SSE tickets and /stream answer 503 with a detail within seconds, on a
    dead and on a silent Redis; /health says degraded with `redis` failing; none is a 500."""
    with world.api("api-1").client() as before:
        ticket = before.post("/auth/sse-ticket", world.token).json()["ticket"]
    stream_url = f"{world.api('api-2').base_url}{API_PREFIX}/stream"
    with world.outage(kind), world.api("api-2").client_from(fresh_source_ip()) as api:
        unavailable(timed(lambda: api.login(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)), "login throttle")
        unavailable(timed(lambda: api.post("/auth/sse-ticket", world.token)), "SSE tickets")
        headers = {"Authorization": f"Bearer {world.token}"}
        for params, auth in (({}, headers), ({"ticket": ticket}, {})):
            began = time.monotonic()
            with open_stream(stream_url, params, auth) as sse:
                assert time.monotonic() - began < ANSWER_S
                sse.response.read()
                unavailable(sse.response, "Redis")
        health = timed(lambda: api.get("/health", world.token))
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "degraded"
        assert health.json()["components"]["redis"]["status"] == "failing"
        me = timed(lambda: api.get("/auth/me", world.token))
        assert me.status_code == 200, me.text
    with world.api("api-2").client() as api:
        assert api.get("/health", world.token).json()["components"]["redis"]["status"] == "ok"


def test_a_revoked_token_stays_refused_through_the_outage(world: World) -> None:
    """A token logged out before the outage and one logged out during it are refused by both
    replicas while Redis is down and after it returns empty (the users model holds them)."""
    with world.api("api-1").client() as a, world.api("api-2").client() as b:
        before = a.token(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)
        during = a.token(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)
        assert a.post("/auth/logout", before).status_code == 204
        with world.outage("kill"):
            assert timed(lambda: a.post("/auth/logout", during)).status_code == 204
            for api in (a, b):
                for token in (before, during):
                    response = timed(lambda: api.get("/auth/me", token))  # noqa: B023
                    assert response.status_code == 401, response.text
                assert timed(lambda: api.get("/auth/me", world.token)).status_code == 200  # noqa: B023
        for api in (a, b):
            for token in (before, during):
                assert api.get("/auth/me", token).status_code == 401


def test_an_admin_command_is_stored_and_read_back_while_redis_is_down(world: World) -> None:
    """A config write is stored and its read-your-writes wait settles on the positions table:
    the other replica shows the new value at once."""
    with (
        world.outage("kill"),
        world.api("api-1").client() as a,
        world.api("api-2").client() as b,
    ):
        limit = 40 + secrets.randbelow(50)
        response = timed(lambda: a.set_limit(world.token, limit))
        assert response.status_code == 200, response.text
        config = timed(lambda: b.get("/config", world.token))
        assert config.json()["deployment_limit"] == limit


def test_a_live_stream_ends_with_an_error_and_streams_resume_after_redis_returns(
    world: World,
) -> None:
    """A client connected when Redis dies gets an `error` frame and the stream ends; after
    Redis returns a stream resumes from the client's last id (records sent during the outage
    first) and then carries live records again."""
    decky = f"stream-{secrets.token_hex(3)}"
    url = f"{world.api('api-1').base_url}{API_PREFIX}/stream"
    headers = {"Authorization": f"Bearer {world.token}"}
    params = {"search": f"decky:{decky}"}
    send_tcp(world.topo.syslog_port, records(decky, 10))
    wait_total(world.api("api-1"), world.token, decky, 10)
    with world.api("api-1").client() as api:
        last_id = api.get("/logs", world.token, params={**params, "limit": 1}).json()["data"][0]
    with open_stream(url, params, headers, read_timeout=20.0) as sse:
        sse.until(lambda es: any(e.kind == "histogram" for e in es), 10, "the snapshot")
        with world.outage("kill"):
            send_tcp(world.topo.syslog_port, records(decky, 15, 10))
            events = sse.until(lambda es: any(e.kind == "error" for e in es), 10, "an error")
            assert "Redis" in events[-1].payload()["message"]
            assert sse.next() is None  # and the stream ended
            wait_total(world.api("api-1"), world.token, decky, 25)
    # The client resumes after the last record it could have seen (the 10th), as soon as the
    # replica's reader is back on Redis (it retries every 0.5 s).
    resume = {**params, "lastEventId": str(last_id["id"])}
    with stream_when_back(url, resume, headers) as sse:
        got = sse.until(lambda es: len(rows_in(es)) >= 15, 15, "the backlog")
        send_tcp(world.topo.syslog_port, records(decky, 5, 25))
        got += sse.until(lambda es: len(rows_in(es)) >= 5, 15, "live rows")
    commands = [json.loads(row["fields"])["command"] for row in rows_in(got)]
    assert commands == [f"echo {i}" for i in range(10, 30)]


@contextlib.contextmanager
def stream_when_back(
    url: str, params: dict[str, str], headers: dict[str, str]
) -> Iterator[SseReader]:
    """A stream opened as soon as the replica answers 200 again (503 until then)."""
    deadline = time.monotonic() + RECOVER_S
    while True:
        with open_stream(url, params, headers, read_timeout=20.0) as sse:
            if sse.response.status_code == 200:
                yield sse
                return
            sse.response.read()
            unavailable(sse.response, "Redis")
        assert time.monotonic() < deadline, f"/stream still 503 {RECOVER_S}s after Redis returned"
        time.sleep(0.1)


def rows_in(events: list[SseEvent]) -> list[dict[str, Any]]:
    return [row for e in events if e.kind == "logs" for row in e.payload()["data"]]


def test_shared_state_works_again_after_redis_returns(world: World) -> None:
    """After an outage (stopped, then continued): tickets, login, logout across replicas and the
    throttle work as before, with no process restarted."""
    with world.outage("stop"):
        pass
    url = f"{world.api('api-1').base_url}{API_PREFIX}/stream"
    with stream_when_back(url, {}, {"Authorization": f"Bearer {world.token}"}):
        pass  # api-1's reader is back on Redis
    with world.api("api-1").client() as a, world.api("api-2").client() as b:
        token = a.token(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)
        ticket = b.post("/auth/sse-ticket", token)
        assert ticket.status_code == 200, ticket.text
        with open_stream(url, {"ticket": ticket.json()["ticket"]}) as sse:
            assert sse.response.status_code == 200
        assert a.post("/auth/logout", token).status_code == 204
        assert b.get("/auth/me", token).status_code == 401
    source = fresh_source_ip()
    with world.api("api-1").client_from(source) as a:
        for _ in range(10):
            assert a.login(f"nobody-{secrets.token_hex(3)}", "wrong-password").status_code == 401
        assert a.login(BOOTSTRAP_ADMIN, ADMIN_PASSWORD).status_code == 429
    world.check_alive()
