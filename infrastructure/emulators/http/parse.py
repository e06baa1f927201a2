"""HTTP/1.x request parsing for the web emulator: bounded head, bounded (or chunked) body."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from infrastructure.emulators.streams import StreamBuffer

MAX_LINE = 8190  # Apache's LimitRequestLine / LimitRequestFieldSize
MAX_HEADERS = 100  # Apache's LimitRequestFields
BODY_CAP = 64 * 1024  # read at most this much of a body; the rest is never read
HEADERS_JSON_BUDGET = 8 * 1024  # keeps one record far below the collector's 64 KiB line cap
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VERSION = re.compile(r"HTTP/\d\.\d")
_HEX = re.compile(r"[0-9A-Fa-f]{1,8}")


class BadRequest(Exception):
    """The bytes are not an HTTP/1.x request we can answer (400 and close)."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One parsed request; `body` holds at most `BODY_CAP` bytes of a possibly longer body."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    body_size: int = 0
    truncated: bool = False  # the body was not fully read, so the connection must close

    @property
    def path(self) -> str:
        """The target's path (absolute-form targets of proxy probes included)."""
        return _split_target(self.target)[0]

    @property
    def query(self) -> str:
        """The target's query string, without `?`."""
        return _split_target(self.target)[1]

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive)."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept open after this request."""
        connection = (self.header("Connection") or "").lower()
        if self.truncated or "close" in connection:
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in connection

    def headers_json(self) -> str:
        """Headers as a JSON object string (repeats joined by `, `), within a size budget."""
        merged: dict[str, str] = {}
        budget = HEADERS_JSON_BUDGET
        for name, value in self.headers:
            budget -= len(name) + len(value)
            if budget < 0:
                break
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return json.dumps(merged)


Continue = Callable[[], Awaitable[None]]


def _split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target, keeping probes like `//etc/passwd` intact."""
    if "://" in target and not target.startswith("/"):  # absolute-form: a proxy probe
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path, query  # origin-form, or `*` / `host:port` (OPTIONS, CONNECT) as sent


async def read_request(buffer: StreamBuffer, send_continue: Continue) -> HttpRequest | None:
    """The next request on the connection; None when the peer closed it between requests."""
    line = await _request_line(buffer)
    if line is None:
        return None
    method, target, version = _split_request_line(line)
    headers = await _read_headers(buffer)
    request = HttpRequest(method, target, version, headers)
    if (request.header("Expect") or "").lower() == "100-continue":
        await send_continue()
    return await _with_body(buffer, request)


async def _request_line(buffer: StreamBuffer) -> str | None:
    for _ in range(4):  # RFC 9112 lets a server skip a few empty lines before the request
        raw = await buffer.readline(MAX_LINE)
        if raw is None:
            return None
        if raw:
            return raw.decode("latin-1")
    raise BadRequest("only empty lines")


def _split_request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _VERSION.fullmatch(parts[2]):
        raise BadRequest("malformed request line")
    return parts[0], parts[1], parts[2]


async def _read_headers(buffer: StreamBuffer) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    while True:
        raw = await buffer.readline(MAX_LINE)
        if raw is None:
            raise BadRequest("connection closed inside the headers")
        if not raw:
            return tuple(headers)
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not _TOKEN.fullmatch(name) or len(headers) >= MAX_HEADERS:
            raise BadRequest("malformed or too many headers")
        headers.append((name, value.strip()))


async def _with_body(buffer: StreamBuffer, request: HttpRequest) -> HttpRequest:
    if "chunked" in (request.header("Transfer-Encoding") or "").lower():
        body, size, truncated = await _chunked(buffer)
    else:
        body, size, truncated = await _sized(buffer, request.header("Content-Length"))
    return HttpRequest(
        request.method, request.target, request.version, request.headers, body, size, truncated
    )


async def _sized(buffer: StreamBuffer, length_header: str | None) -> tuple[bytes, int, bool]:
    if length_header is None:
        return b"", 0, False
    if not length_header.strip().isdigit():
        raise BadRequest("bad Content-Length")
    length = int(length_header)
    body = await buffer.read_exactly(min(length, BODY_CAP))
    if body is None:
        raise BadRequest("connection closed inside the body")
    return body, length, length > BODY_CAP


async def _chunked(buffer: StreamBuffer) -> tuple[bytes, int, bool]:
    body = bytearray()
    while True:
        size_line = await buffer.readline(MAX_LINE)
        size_text = (size_line or b"").split(b";")[0].strip().decode("latin-1")
        if size_line is None or not _HEX.fullmatch(size_text):
            raise BadRequest("bad chunk size")
        size = int(size_text, 16)
        if size == 0:
            await _read_headers(buffer)  # trailers
            return bytes(body), len(body), False
        if len(body) + size > BODY_CAP:
            return bytes(body), len(body) + size, True  # stop reading: the connection closes
        chunk = await buffer.read_exactly(size + 2)
        if chunk is None:
            raise BadRequest("connection closed inside a chunk")
        body += chunk[:size]
