"""HTTP/HTTPS emulator: records every request, serves a fake login portal, captures credentials.

Settings (`[decky.http]` / `[decky.https]`): `server_header`, `response_code` and `body` (what
`/` and unknown paths answer), `tls_cn` (certificate CN, default the decky hostname), `tls_cert`
and `tls_key` (use this certificate instead of the generated self-signed one).
Routes: `/` and `/login` show a sign-in form whose POST (urlencoded or JSON) is captured;
`/admin…` and `/manager…` demand Basic auth (401) and capture what is sent; all else is 404.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import structlog

from domain.fleet.catalogue import SERVICES
from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.http.creds import credential_fields
from infrastructure.emulators.http.pages import error_page, login_page, render
from infrastructure.emulators.http.parse import BadRequest, HttpRequest, read_request
from infrastructure.emulators.http.tls import TlsContextProvider, TlsStream
from infrastructure.emulators.streams import ByteStream, LineTooLong, StreamBuffer
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.recording import escape_excerpt
from infrastructure.runtime.session import Connection, IdleTimeoutError

log = structlog.get_logger()

MAX_REQUESTS = 8  # per connection: keep-alive is allowed, endless pipelines are not
REQUEST_DEADLINE_S = 30.0  # one deadline per request (head and body): defeats slowloris
BODY_EXCERPT = 512
PROTECTED_PREFIXES = ("/admin", "/manager")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CHALLENGE = ("WWW-Authenticate", 'Basic realm="Restricted Area"')


@dataclass(frozen=True, slots=True)
class _Answer:
    code: int
    body: bytes
    extra: tuple[tuple[str, str], ...] = ()


class HttpHandler:
    """Serves HTTP/1.x on one connection (through TLS when given a context provider)."""

    def __init__(self, ctx: ServiceContext, tls: TlsContextProvider | None = None) -> None:
        self._ctx = ctx
        self._tls = tls
        default_server = SERVICES[ctx.service].banner if ctx.service in SERVICES else ""
        self._server = ctx.config.get("server_header", default_server or "Apache/2.4.52 (Ubuntu)")
        code = ctx.config.get("response_code", "")
        self._code = int(code) if code.isdigit() and 100 <= int(code) <= 599 else None
        body = ctx.config.get("body")
        self._body = body.encode() if body is not None else None

    async def __call__(self, conn: Connection) -> None:
        """Serve up to `MAX_REQUESTS` requests, then close."""
        stream: ByteStream | None = conn
        if self._tls is not None:
            stream = await self._secure(conn, self._tls)
        if stream is None:
            return
        buffer = StreamBuffer(stream)
        for served in range(1, MAX_REQUESTS + 1):
            request = await self._next_request(conn, stream, buffer)
            if request is None:
                return
            keep_alive = request.keep_alive() and served < MAX_REQUESTS
            answer = self._route(request)
            await self._record(conn, stream, request, answer.code)
            response = render(
                answer.code,
                answer.body,
                server=self._server,
                keep_alive=keep_alive,
                head_only=request.method == "HEAD",
                extra=answer.extra,
            )
            await stream.send(response)
            if not keep_alive:
                return

    async def _secure(self, conn: Connection, tls: TlsContextProvider) -> TlsStream | None:
        try:
            context = await tls.context()
        except (OSError, ValueError) as exc:  # a bad configured certificate: log, serve nothing
            log.warning("emulator_tls_unavailable", decky=self._ctx.decky, error=str(exc))
            return None
        stream = TlsStream(conn, context)
        try:
            await stream.handshake()
        except ssl.SSLError as exc:  # plain HTTP on the TLS port, scanners probing ciphers...
            reason = str(exc.reason or exc)
            await conn.record("tls_error", f"TLS handshake failed: {reason}", reason=reason)
            return None
        except TimeoutError as exc:
            raise IdleTimeoutError from exc
        conn.mute_data()  # the rest is ciphertext; requests are recorded decrypted instead
        return stream

    async def _next_request(
        self, conn: Connection, stream: ByteStream, buffer: StreamBuffer
    ) -> HttpRequest | None:
        try:
            async with asyncio.timeout(REQUEST_DEADLINE_S):
                return await read_request(buffer, lambda: stream.send(_CONTINUE))
        except TimeoutError as exc:
            raise IdleTimeoutError from exc
        except (BadRequest, LineTooLong) as exc:
            await conn.record("bad_request", f"unparsable request: {exc}", reason=str(exc))
            await stream.send(render(400, error_page(400), server=self._server, keep_alive=False))
            return None

    def _route(self, request: HttpRequest) -> _Answer:
        path = request.path
        if path.startswith(PROTECTED_PREFIXES):
            # Never let anyone in: every attempt is one more captured credential.
            return _Answer(401, error_page(401), (_CHALLENGE,))
        if path in {"/", "/login"} and request.method == "POST":
            return _Answer(200, login_page(self._ctx.hostname, failed=True))
        if path == "/login":
            return _Answer(200, login_page(self._ctx.hostname))
        if path == "/":
            return _Answer(self._code or 200, self._body or login_page(self._ctx.hostname))
        code = self._code or 404
        return _Answer(code, self._body if self._body is not None else error_page(code))

    async def _record(
        self, conn: Connection, stream: ByteStream, request: HttpRequest, code: int
    ) -> None:
        fields = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers_json(),
            "http_version": request.version,
            "body": escape_excerpt(request.body, BODY_EXCERPT),
            "body_size": str(request.body_size),
            "status": str(code),
            **credential_fields(request),
        }
        user_agent = request.header("User-Agent")
        if user_agent:
            fields["user_agent"] = user_agent
        if isinstance(stream, TlsStream):
            fields["tls_version"] = stream.version
        await conn.record("request", f"{request.method} {request.target[:256]}", **fields)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The http and https handler factories; https certificates are cached under `tls_dir`."""
    tls_dir = deps.tls_dir or deps.artifacts.root / ".tls"

    def http_factory(ctx: ServiceContext) -> HttpHandler:
        return HttpHandler(ctx)

    def https_factory(ctx: ServiceContext) -> HttpHandler:
        common_name = ctx.config.get("tls_cn") or ctx.hostname
        cert, key = ctx.config.get("tls_cert", ""), ctx.config.get("tls_key", "")
        return HttpHandler(ctx, TlsContextProvider(tls_dir, ctx.decky, common_name, cert, key))

    return {"http": http_factory, "https": https_factory}
