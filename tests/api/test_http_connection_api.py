"""The HTTP listener's connections against a real `decnet serve`: a client that sends nothing,
or its headers or body too slowly (slowloris, slow POST), loses its socket after
`DECNET_HTTP_REQUEST_TIMEOUT_S`, and one whose headers grow past `MAX_HEADER_BYTES` gets a 431;
complete requests, keep-alive and long SSE responses are not cut."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from interfaces.http.connection import MAX_HEADER_BYTES
from tests.api.harness import API_PREFIX, Backend
from tests.api.observations_support import (
    ObservedServer,
    log_rows,
    observed_server,
    open_stream,
    scratch_dir,
    send_tcp,
    syslog_line,
    tag,
)

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def live(backend: Backend) -> Iterator[ObservedServer]:
    env = {"DECNET_HTTP_REQUEST_TIMEOUT_S": str(TIMEOUT_S)}
    with (
        scratch_dir("http-conn") as data_dir,
        observed_server(backend, data_dir, extra_env=env) as s,
    ):
        s.login()
        yield s


def connect(live: ObservedServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", live.server.port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_connection_that_sends_nothing_is_closed(live: ObservedServer) -> None:
    with connect(live) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # closed, nothing said: no request was begun
        assert TIMEOUT_S * 0.8 <= time.monotonic() - started < TIMEOUT_S + 3


def dribble(sock: socket.socket, data: bytes, gap_s: float) -> bool:
    """Send `data` a byte every `gap_s`; False once the server has closed the connection."""
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(gap_s)
    except OSError:  # reset or broken pipe: the server closed mid-dribble
        return False
    return True


def test_headers_sent_a_byte_at_a_time_get_a_408(live: ObservedServer) -> None:
    request = f"GET {API_PREFIX}/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a" * 200
    with connect(live) as sock:
        started = time.monotonic()
        # 10 s for the lot, a byte every 50 ms: the deadline is the request's, not a byte's.
        assert not dribble(sock, request.encode(), 0.05)
        assert time.monotonic() - started < TIMEOUT_S + 3
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # a reset may discard what was sent
            answer = read_all(sock)
    if answer:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer
        assert json.loads(body) == {"detail": "request not received in time"}


def test_a_body_sent_a_byte_at_a_time_loses_its_connection(live: ObservedServer) -> None:
    """A declared body that trickles (slow POST) on the public login route: the connection is
    closed at the request's deadline, not held while the client keeps dripping."""
    head = (
        f"POST {API_PREFIX}/auth/login HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with connect(live) as sock:
        sock.sendall(head.encode())
        started = time.monotonic()
        assert not dribble(sock, b'{"username": "' + b"a" * 900, 0.05)
        assert TIMEOUT_S * 0.8 <= time.monotonic() - started < TIMEOUT_S + 3


def test_headers_past_the_size_limit_get_a_431_at_once(live: ObservedServer) -> None:
    """An endless header value (httptools kept it by concatenation: quadratic time on the
    event loop for every other request) is cut once the headers pass the limit."""
    with connect(live) as sock:
        sock.sendall(f"GET {API_PREFIX}/health HTTP/1.1\r\nHost: x\r\nX-Big: ".encode())
        started = time.monotonic()
        with contextlib.suppress(OSError):  # reset once the server has closed
            sock.sendall(b"a" * (8 * MAX_HEADER_BYTES))  # kernel buffers take part of it
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            answer = read_all(sock)
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S * 0.8, elapsed  # at once, not at the request deadline (a 408)
    if answer:  # sent before the close (a reset may discard it on the client's side)
        assert answer.startswith(b"HTTP/1.1 431 "), answer


def test_headers_just_under_the_limit_are_served(live: ObservedServer) -> None:
    big = "a" * (MAX_HEADER_BYTES - 1024)
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    try:
        conn.request("GET", f"{API_PREFIX}/health", headers={"X-Big": big})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 401  # served: it asks for a token
    finally:
        conn.close()


def test_complete_requests_on_one_connection_are_served_past_the_deadline(
    live: ObservedServer,
) -> None:
    """Keep-alive: each request has its own deadline, so a connection lives longer than one."""
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    try:
        sockets = set()
        for _ in range(3):
            conn.request("GET", f"{API_PREFIX}/health")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 401  # served: it asks for a token
            sockets.add(id(conn.sock))
            time.sleep(TIMEOUT_S * 0.7)
        assert len(sockets) == 1  # one connection for the three, 2.1 deadlines long
    finally:
        conn.close()


def test_a_live_stream_outlives_the_header_deadline(live: ObservedServer) -> None:
    t = tag()
    with open_stream(live.stream_url, {"token": live.token, "search": f"run:{t}"}) as sse:
        sse.until(lambda ev: len(ev) >= 3, 5, "opening frames")
        time.sleep(TIMEOUT_S * 2.5)
        line = syslog_line(f"s{t}", "ssh", "connect", {"run": t}, "late")
        send_tcp(live.syslog_port, [line])
        events = sse.until(lambda ev: len(log_rows(ev)) >= 1, 10, "the row sent late")
    assert len(log_rows(events)) == 1


@pytest.mark.parametrize(
    ("path", "authorised", "status"),
    [
        ("/health", True, 200),
        ("/logs?limit=2", True, 200),
        ("/logs?limit=2&search=nothing-matches-this", True, 200),
        ("/logs/histogram", True, 200),
        ("/stats", True, 200),
        ("/logs", False, 401),
        ("/logs?limit=0", True, 422),
        ("/no-such-route", True, 404),
        ("/deckies/deploy", True, 405),  # POST only: a HEAD is a GET, and it has no GET
    ],
)
def test_head_answers_what_get_answers_without_a_body(
    live: ObservedServer, path: str, authorised: bool, status: int
) -> None:
    """RFC 9110 §9.3.2: the GET's status and headers, no body; the connection stays usable."""
    headers = {"Authorization": f"Bearer {live.token}"} if authorised else {}
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    try:
        conn.request("GET", f"{API_PREFIX}{path}", headers=headers)
        got = conn.getresponse()
        body = got.read()
        conn.request("HEAD", f"{API_PREFIX}{path}", headers=headers)
        head = conn.getresponse()
        assert head.read() == b""
        assert (got.status, head.status) == (status, status)
        assert head.getheader("Content-Type") == got.getheader("Content-Type")
        if got.getheader("Content-Length") is not None:
            assert head.getheader("Content-Length") == str(len(body))
        if status == 405:
            assert "GET" not in head.getheader("Allow", "")  # nor HEAD: its path has no GET
            assert "HEAD" not in head.getheader("Allow", "")
        conn.request("GET", f"{API_PREFIX}/health")  # the same connection serves the next one
        assert conn.getresponse().status == 401
    finally:
        conn.close()


def test_a_405_names_head_beside_get(live: ObservedServer) -> None:
    headers = {"Authorization": f"Bearer {live.token}"}
    answer = httpx.delete(f"{live.server.base_url}{API_PREFIX}/stats", headers=headers)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD, OPTIONS"


def test_head_of_the_stream_ends_at_its_headers(live: ObservedServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    try:
        started = time.monotonic()
        conn.request("HEAD", f"{API_PREFIX}/stream?token={live.token}")
        head = conn.getresponse()
        assert head.status == 200
        assert head.getheader("Content-Type", "").startswith("text/event-stream")
        assert head.read() == b""
        conn.request("GET", f"{API_PREFIX}/health")
        health = conn.getresponse()
        health.read()
        assert health.status == 401
        assert time.monotonic() - started < 5  # not held open like a GET of the stream
        # Each HEAD's stream slot comes back: more of them than a user may hold streams.
        for _ in range(40):  # DECNET_MAX_STREAMS_PER_USER is 32 here
            conn.request("HEAD", f"{API_PREFIX}/stream?token={live.token}")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
    finally:
        conn.close()
