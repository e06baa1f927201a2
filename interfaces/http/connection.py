"""The HTTP server's connections: a request must finish its headers within a deadline.

uvicorn closes a keep-alive connection that stays idle after a response, but it sets no timer
on a new connection or on a request whose headers are still arriving, and any byte cancels the
idle timer. A client that connects and sends nothing, or sends its headers a byte at a time
("slowloris"), held its socket for as long as it liked, without a token: a few thousand of
them exhausted the process's file descriptors and no one else could connect. Here every
connection, and every request on it, has `DECNET_HTTP_HEADER_TIMEOUT_S` to complete its
headers; past it a request begun gets a 408 and the connection is closed (as nginx's
`client_header_timeout` and Apache's `RequestReadTimeout` do).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SWEEPER = "decnet_header_sweeper"  # the attribute of uvicorn's per-server state holding it
_BODY = b'{"detail":"request headers not received in time"}'
TIMED_OUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n"
    b"connection: close\r\n"
    b"\r\n" + _BODY
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers.

    A request only notes when its headers began (one attribute write at each end: a timer per
    request measured ~3 % of a `/logs` request's CPU); one sweep a second per server closes the
    connections whose headers are overdue, so a deadline is kept to within a second.
    """

    header_timeout_s = 20.0
    SWEEP_S = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since: float | None = None  # the loop's time the headers began arriving
        self._begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = self.loop.time()
        state = self.server_state  # one per server: its connections, and here its sweeper
        if getattr(state, SWEEPER, None) is None:
            sweeper = _Sweeper(self.loop, self.connections, self.header_timeout_s, self.SWEEP_S)
            setattr(state, SWEEPER, sweeper)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun = True
        if self.waiting_since is None:
            self.waiting_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self.waiting_since = None
        self._begun = False
        super().on_headers_complete()

    def overdue(self, now: float, timeout_s: float) -> bool:
        """Whether headers began arriving `timeout_s` or more before `now`."""
        return self.waiting_since is not None and now - self.waiting_since >= timeout_s

    def expire(self) -> None:
        """Close for headers not received in time: a 408 if a request had begun."""
        self.waiting_since = None
        if self.transport.is_closing():
            return
        if self._begun:
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
            if isinstance(conn, HeaderDeadlineProtocol) and conn.overdue(now, self._timeout_s):
                conn.expire()
        self._loop.call_later(self._every_s, self._sweep)


def header_deadline_protocol(timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class uvicorn builds each connection with, bound to `timeout_s`."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout_s": timeout_s})
