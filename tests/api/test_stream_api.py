"""Black-box tests of `GET /stream` (SSE) against a real `decnet serve`: every read is bounded."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.api.harness import ApiClient, Backend, make_account
from tests.api.observations_support import (
    SYSLOG_HOST,
    ObservedServer,
    SseEvent,
    SseReader,
    all_logs,
    fields_of,
    get_json,
    log_rows,
    observed_server,
    open_stream,
    scratch_dir,
    send_tcp,
    syslog_line,
    tag,
    wait_for_logs,
)

WITHIN = 1.0
TS_2026 = datetime(2026, 4, 18, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def live(backend: Backend) -> Iterator[ObservedServer]:
    """A production-mode server for this module."""
    with scratch_dir("stream") as data_dir, observed_server(backend, data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def dev(backend: Backend) -> Iterator[ObservedServer]:
    """A developer-mode server (where `maxOutput` applies)."""
    with (
        scratch_dir("stream-dev") as data_dir,
        observed_server(backend, data_dir, developer=True) as server,
    ):
        yield server


@pytest.fixture
def client(live: ObservedServer) -> ApiClient:
    return live.api()


def line(t: str, seq: int, decky: str = "", msg: str = "", ts: datetime = TS_2026) -> str:
    """A line tagged `run:<t>` with a sequence number."""
    return syslog_line(decky or f"s{t}", "ssh", "connect", {"run": t, "seq": str(seq)}, msg, ts)


def opening(sse: SseReader) -> list[SseEvent]:
    """The comment, stats and histogram frames every stream starts with."""
    events = sse.until(lambda ev: len(ev) >= 3, 5, "opening frames")
    assert events[0].comment is not None
    assert events[0].data is None
    assert [e.kind for e in events[1:]] == ["stats", "histogram"]
    assert all(e.event == "message" for e in events[1:])
    return events


def rows_until(sse: SseReader, count: int, timeout: float = 10.0) -> list[SseEvent]:
    """Events up to the one that brings the log rows received to `count`."""
    return sse.until(lambda ev: len(log_rows(ev)) >= count, timeout, f"{count} log rows")


def assert_log_frames(events: list[SseEvent]) -> None:
    """Each logs frame is ascending by id and carries `id:` = its highest id."""
    for event in events:
        if event.kind == "logs":
            ids = [row["id"] for row in event.payload()["data"]]
            assert ids == sorted(set(ids))
            assert event.id == str(ids[-1])


def stream_status(url: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    """The status of a /stream request, without waiting for its body."""
    with open_stream(url, params, headers) as sse:
        return sse.response.status_code


def seed(live: ObservedServer, client: ApiClient, t: str, count: int) -> list[int]:
    """Send `count` tagged lines; their log ids, oldest first."""
    send_tcp(live.syslog_port, [line(t, i) for i in range(count)])
    rows = wait_for_logs(client, live.token, f"run:{t}", count)
    return sorted(r["id"] for r in rows)


class Trickle(threading.Thread):
    """Sends lines over one TCP connection at a steady pace, in the background."""

    def __init__(self, port: int, lines: list[str], gap_s: float) -> None:
        super().__init__(daemon=True)
        self._port, self._lines, self._gap = port, lines, gap_s
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with socket.create_connection((SYSLOG_HOST, self._port), timeout=10) as sock:
                for text in self._lines:
                    sock.sendall(text.encode() + b"\n")
                    time.sleep(self._gap)
        except BaseException as e:  # reported by finish()
            self.error = e

    def finish(self) -> None:
        self.join(timeout=30)
        assert not self.is_alive(), "sender did not finish"
        assert self.error is None, self.error


# --- protocol ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cursor", [None, "0"])
def test_stream_opens_with_headers_comment_stats_histogram_then_live_only(
    live: ObservedServer, client: ApiClient, cursor: str | None
) -> None:
    """SSE headers; comment, stats and filtered histogram frames; no backlog without a cursor."""
    t = tag()
    seed(live, client, t, 3)
    params = {"token": live.token, "search": f"run:{t}"}
    if cursor is not None:
        params["lastEventId"] = cursor
    with open_stream(live.stream_url, params) as sse:
        response = sse.response
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        _, stats, bars = opening(sse)
        assert stats.payload()["data"] == get_json(client, live.token, "/stats")
        histogram = get_json(client, live.token, "/logs/histogram", search=f"run:{t}")
        assert bars.payload()["data"] == histogram
        assert sum(b["count"] for b in histogram) == 3
        send_tcp(live.syslog_port, [line(t, 99)])
        events = rows_until(sse, 1)
    assert [fields_of(r)["seq"] for r in log_rows(events)] == ["99"]


def test_live_logs_are_pushed_with_ids_then_stats_and_histogram(
    live: ObservedServer, client: ApiClient
) -> None:
    """New lines are pushed within 1 s with `id:` = highest id, then stats and histogram."""
    t = tag()
    with open_stream(live.stream_url, {"token": live.token, "search": f"run:{t}"}) as sse:
        opening(sse)
        sent_at = time.monotonic()
        send_tcp(live.syslog_port, [line(t, i) for i in range(5)])
        first = sse.until(lambda ev: bool(log_rows(ev)), 5, "first logs frame")
        assert time.monotonic() - sent_at < WITHIN
        events = first + rows_until(sse, 5 - len(log_rows(first)))
        after = sse.until(
            lambda ev: [e.kind for e in ev][-2:] == ["stats", "histogram"], 5, "fresh snapshot"
        )
    assert_log_frames(events)
    rows = log_rows(events)
    assert rows == list(reversed(get_json(client, live.token, "/logs", search=f"run:{t}")["data"]))
    assert [fields_of(r)["seq"] for r in rows] == [str(i) for i in range(5)]
    stats, bars = after[-2].payload()["data"], after[-1].payload()["data"]
    assert stats["total_logs"] >= 5
    assert bars == get_json(client, live.token, "/logs/histogram", search=f"run:{t}")


def test_live_frames_apply_search_and_time_filters(live: ObservedServer) -> None:
    """Only rows matching the search (columns, bare words) and the time range are pushed."""
    t = tag()
    keep, other = f"k{t}", f"o{t}"
    params = {
        "token": live.token,
        "search": f"decky:{keep} keep",
        "start_time": "2026-01-01T00:00:00Z",
    }
    lines = [
        line(t, 0, other, "keep"),  # other decky
        line(t, 1, keep, "drop"),  # no bare word
        line(t, 2, keep, "keep", datetime(2025, 6, 1, tzinfo=UTC)),  # before start_time
        line(t, 3, keep, "Keep this"),
        line(t, 4, other, "KEEP"),
        line(t, 5, keep, "KEEP too"),  # the last one: everything before it was projected
    ]
    with open_stream(live.stream_url, params) as sse:
        opening(sse)
        send_tcp(live.syslog_port, lines)
        events = rows_until(sse, 2)
    assert [fields_of(r)["seq"] for r in log_rows(events)] == ["3", "5"]


def test_snapshots_follow_logs_at_most_once_a_second(live: ObservedServer) -> None:
    """Under a steady trickle, stats+histogram frames keep coming, never closer than a second."""
    t = tag()
    trickle = Trickle(live.syslog_port, [line(t, i) for i in range(60)], gap_s=0.05)
    with open_stream(live.stream_url, {"token": live.token, "search": f"run:{t}"}) as sse:
        events = opening(sse)
        trickle.start()
        events += rows_until(sse, 60)
    trickle.finish()
    kinds = [e.kind for e in events]
    stats_at = [e.received_at for e in events if e.kind == "stats"]
    assert len(stats_at) >= 3  # the opening one and at least two follow-ups
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(stats_at))
    for i, kind in enumerate(kinds):
        if kind == "stats":
            assert kinds[i + 1] == "histogram"


# --- resuming ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["query", "header"])
def test_resume_sends_the_backlog_after_the_cursor(
    live: ObservedServer, client: ApiClient, how: str
) -> None:
    """`?lastEventId=N` or `Last-Event-ID: N` replays matching logs after N, oldest first."""
    t = tag()
    ids = seed(live, client, t, 10)
    params: dict[str, Any] = {"token": live.token, "search": f"run:{t}"}
    headers = {}
    if how == "query":
        params["lastEventId"] = str(ids[3])
    else:
        headers["Last-Event-ID"] = str(ids[3])
    with open_stream(live.stream_url, params, headers) as sse:
        opening(sse)
        events = rows_until(sse, 6)
    assert all(e.kind == "logs" for e in events)
    assert_log_frames(events)
    assert [r["id"] for r in log_rows(events)] == ids[4:]


def test_resume_across_disconnects_has_no_gaps_or_duplicates(
    live: ObservedServer, client: ApiClient
) -> None:
    """Resuming from the last `id:` while lines keep arriving gives each row once, in order."""
    t, total = tag(), 90
    trickle = Trickle(live.syslog_port, [line(t, i) for i in range(total)], gap_s=0.008)
    params = {"token": live.token, "search": f"run:{t}"}
    received: list[dict[str, Any]] = []

    def take(sse: SseReader, upto: int) -> str:
        events = rows_until(sse, upto - len(received))
        assert_log_frames(events)
        received.extend(log_rows(events))
        last = [e for e in events if e.kind == "logs"][-1]
        assert last.id is not None
        return last.id

    with open_stream(live.stream_url, params) as sse:
        opening(sse)
        trickle.start()
        cursor = take(sse, 25)
    time.sleep(0.2)  # disconnected while lines keep arriving
    with open_stream(live.stream_url, params, {"Last-Event-ID": cursor}) as sse:
        opening(sse)
        cursor = take(sse, 55)
    time.sleep(0.2)
    with open_stream(live.stream_url, {**params, "lastEventId": cursor}) as sse:
        opening(sse)
        take(sse, total)
    trickle.finish()
    ids = [r["id"] for r in received]
    assert ids == sorted(set(ids))
    assert sorted(int(fields_of(r)["seq"]) for r in received) == list(range(total))
    stored = all_logs(client, live.token, f"run:{t}")
    assert ids == sorted(r["id"] for r in stored)


def test_backlog_comes_in_frames_of_at_most_500(live: ObservedServer, client: ApiClient) -> None:
    """Resuming before 1,200 rows replays all of them, oldest first, in frames of ≤ 500."""
    t = tag()
    ids = seed(live, client, t, 1200)
    params = {"token": live.token, "search": f"run:{t}", "lastEventId": str(ids[0] - 1)}
    with open_stream(live.stream_url, params) as sse:
        opening(sse)
        events = rows_until(sse, 1200, timeout=20)
    frames = [len(e.payload()["data"]) for e in events if e.kind == "logs"]
    assert max(frames) <= 500
    assert len(frames) >= 3
    assert_log_frames(events)
    assert [r["id"] for r in log_rows(events)] == ids


def test_live_frames_carry_at_most_500_rows(live: ObservedServer) -> None:
    """3,000 lines arriving at once (commits of up to 1,000 rows) reach a live client in frames of
    ≤ 500 rows: a client that stops reading holds one bounded frame in the server's memory, not
    a whole commit (200 stalled clients grew the server by 3.8 MB each at 80,000 records)."""
    t = tag()
    params = {"token": live.token, "search": f"run:{t}"}
    with open_stream(live.stream_url, params) as sse:
        opening(sse)
        send_tcp(live.syslog_port, [line(t, i) for i in range(3000)])
        events = rows_until(sse, 3000, timeout=30)
    frames = [len(e.payload()["data"]) for e in events if e.kind == "logs"]
    assert max(frames) <= 500, frames
    assert_log_frames(events)
    assert sorted(int(fields_of(r)["seq"]) for r in log_rows(events)) == list(range(3000))


# --- authentication and validation ---------------------------------------------------------------


def test_stream_requires_a_token(live: ObservedServer, client: ApiClient) -> None:
    """No token or a bad one is 401; a bearer header works as well as `?token=`."""
    assert client.get("/stream").status_code == 401
    assert client.get("/stream", params={"token": "not-a-jwt"}).status_code == 401
    assert client.get("/stream", "not-a-jwt").status_code == 401
    headers = {"Authorization": f"Bearer {live.token}"}
    with open_stream(live.stream_url, {}, headers) as sse:
        assert sse.response.status_code == 200
        opening(sse)
    with open_stream(live.stream_url, {"token": live.token}) as sse:
        assert sse.response.status_code == 200
        opening(sse)


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"lastEventId": "abc"}, {}),
        ({"lastEventId": "-1"}, {}),
        ({"lastEventId": "1.5"}, {}),
        ({"lastEventId": "9" * 40}, {}),
        ({}, {"Last-Event-ID": "abc"}),
        ({}, {"Last-Event-ID": str(2**63)}),
        ({"start_time": "yesterday"}, {}),
    ],
)
def test_bad_stream_parameters_are_422(
    live: ObservedServer, params: dict[str, str], headers: dict[str, str]
) -> None:
    """A cursor that is not a non-negative integer (or past PostgreSQL's bigint, as on
    `/events/stream`), or a bad time, is 422."""
    status = stream_status(live.stream_url, {"token": live.token, **params}, headers)
    assert status == 422


# --- maxOutput -----------------------------------------------------------------------------------


def test_max_output_ends_the_stream_in_developer_mode(dev: ObservedServer) -> None:
    """`maxOutput=2` ends the stream after the stats and histogram frames."""
    with open_stream(dev.stream_url, {"token": dev.token, "maxOutput": "2"}) as sse:
        opening(sse)
        assert sse.next() is None


def test_max_output_counts_live_frames(dev: ObservedServer) -> None:
    """`maxOutput=3` lets one live logs frame through, then ends the stream. A viewer's: an
    admin's stream also carries `projection` frames whenever a read model's state changes
    (catching up, live), which count too and may come first on a loaded machine."""
    t = tag()
    viewer = make_account(dev.api(), dev.token, "viewer")
    params = {"token": viewer.token, "maxOutput": "3", "search": f"run:{t}"}
    with open_stream(dev.stream_url, params) as sse:
        opening(sse)
        send_tcp(dev.syslog_port, [line(t, 0)])
        frame = sse.next()
        assert frame is not None
        assert frame.kind == "logs"
        assert sse.next() is None


def test_max_output_is_ignored_outside_developer_mode(live: ObservedServer) -> None:
    """In production `maxOutput=1` does not end the stream: opening frames and live logs come."""
    t = tag()
    params = {"token": live.token, "maxOutput": "1", "search": f"run:{t}"}
    with open_stream(live.stream_url, params) as sse:
        opening(sse)
        send_tcp(live.syslog_port, [line(t, 0)])
        rows_until(sse, 1)


def test_a_user_holds_at_most_the_allowed_streams(backend: Backend) -> None:
    """`DECNET_MAX_STREAMS_PER_USER` streams per user: the next is a 429 with `Retry-After`,
    another user still connects, and a closed stream frees its slot."""
    env = {"DECNET_MAX_STREAMS_PER_USER": "2"}
    with (
        scratch_dir("stream-cap") as data_dir,
        observed_server(backend, data_dir, extra_env=env) as capped,
    ):
        token = capped.login()
        viewer = make_account(capped.api(), token, "viewer")
        first = open_stream(capped.stream_url, {"token": token})
        with first as one, open_stream(capped.stream_url, {"token": token}) as two:
            opening(one)
            opening(two)
            with httpx.Client(timeout=5) as http:
                refused = http.get(capped.stream_url, params={"token": token})
            assert refused.status_code == 429, refused.text
            assert "too many live streams" in refused.json()["detail"]
            assert int(refused.headers["Retry-After"]) > 0
            with open_stream(capped.stream_url, {"token": viewer.token}) as theirs:
                opening(theirs)
        deadline = time.monotonic() + 5
        while True:  # the server sees the disconnects at its next write or heartbeat
            with (
                httpx.Client(timeout=5) as http,
                http.stream("GET", capped.stream_url, params={"token": token}) as again,
            ):
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "slots not given back after the streams closed"
            time.sleep(0.2)
