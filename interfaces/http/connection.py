"""The HTTP server's connections: a request must arrive whole within a deadline, and its
headers within a size.

uvicorn closes a keep-alive connection that stays idle after a response, but it sets no timer
on a new connection or on a request still arriving, and any byte cancels the idle timer. A
client that connects and sends nothing, or sends its headers (or a declared body) a byte at a
time ("slowloris", "slow POST"), held its socket for as long as it liked, on `/auth/login`
without a token: a few thousand of them exhausted the process's file descriptors and no one
else could connect. Here every connection, and every request on it, has
`DECNET_HTTP_REQUEST_TIMEOUT_S` from its first byte to arrive whole (request line, headers and
body); past it the connection is closed, with a 408 when the headers were still arriving (as
nginx's `client_header_timeout`/`client_body_timeout` and Apache's `RequestReadTimeout` do).
A response being sent (a long SSE stream) is not limited: only receiving is.

Nor does uvicorn bound the headers' size with httptools (h11 had a 16 KiB limit): a request line
and headers over `MAX_HEADER_BYTES` get a 431 and the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The request line and headers of one request, at most (nginx allows 32 KiB, Node.js 16 KiB).
MAX_HEADER_BYTES = 64 * 1024
SWEEPER = "decnet_header_sweeper"  # the attribute of uvicorn's per-server state holding it


def _closing_answer(status: bytes, detail: bytes) -> bytes:
    body = b'{"detail":"' + detail + b'"}'
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n"
        b"\r\n" + body
    )


TIMED_OUT_RESPONSE = _closing_answer(b"408 Request Timeout", b"request not received in time")
TOO_LARGE_RESPONSE = _closing_answer(
    b"431 Request Header Fields Too Large",
    b"request line and headers larger than " + str(MAX_HEADER_BYTES).encode() + b" bytes",
)


class RequestDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for receiving each request, and a bound on
    its headers' size.

    A request only notes when it began and when it was whole (an attribute write at each end:
    a timer per request measured ~3 % of a `/logs` request's CPU); one sweep a second per
    server closes the connections whose request is overdue, so a deadline is kept to within a
    second.
    """

    request_timeout_s = 20.0
    SWEEP_S = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since: float | None = None  # the loop's time the request began arriving
        self._begun = False  # a request's first byte was parsed
        self._headers_done = False  # ... and its headers; its body may still be arriving
        self._header_bytes = 0  # received while this request's headers are incomplete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = self.loop.time()
        state = self.server_state  # one per server: its connections, and here its sweeper
        if getattr(state, SWEEPER, None) is None:
            sweeper = _Sweeper(self.loop, self.connections, self.request_timeout_s, self.SWEEP_S)
            setattr(state, SWEEPER, sweeper)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.waiting_since is None or self._headers_done or self.transport.is_closing():
            return
        # Headers still incomplete after this chunk: httptools keeps a header's value by
        # concatenation, so an endless one cost quadratic time on the event loop (one client
        # sending 138 MB in 22 s held every other request 0.6 s, then 1.6, 3, 4.4, 5.8 s).
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self.waiting_since = None
            self.transport.write(TOO_LARGE_RESPONSE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun = True
        if self.waiting_since is None:
            self.waiting_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.waiting_since = None
        self._begun = self._headers_done = False
        super().on_message_complete()

    def overdue(self, now: float, timeout_s: float) -> bool:
        """Whether the request began arriving `timeout_s` or more before `now`, not yet whole."""
        return self.waiting_since is not None and now - self.waiting_since >= timeout_s

    def expire(self) -> None:
        """Close for a request not received in time: a 408 if its headers were arriving (once
        they are whole the application answers the request, and only closing is left)."""
        self.waiting_since = None
        if self.transport.is_closing():
            return
        if self._begun and not self._headers_done:
            self.transport.write(TIMED_OUT_RESPONSE)
        self.transport.close()


class _Sweeper:
    """One timer per server: closes its overdue connections every `every_s`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: set[Any],
        timeout_s: float,
        every_s: float,
    ) -> None:
        self._loop = loop
        self._connections = connections
        self._timeout_s = timeout_s
        self._every_s = every_s
        loop.call_later(every_s, self._sweep)

    def _sweep(self) -> None:
        now = self._loop.time()
        for conn in list(self._connections):
            if isinstance(conn, RequestDeadlineProtocol) and conn.overdue(now, self._timeout_s):
                conn.expire()
        self._loop.call_later(self._every_s, self._sweep)


def request_deadline_protocol(timeout_s: float) -> type[RequestDeadlineProtocol]:
    """The protocol class uvicorn builds each connection with, bound to `timeout_s`."""
    return type("RequestDeadline", (RequestDeadlineProtocol,), {"request_timeout_s": timeout_s})
