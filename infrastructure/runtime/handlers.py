"""The plug point for protocol emulators, and the banner handler every service gets by default.

A full emulator (ssh, ftp, http ...) plugs in as a `HandlerFactory` registered under its service
name and passed to `LocalRuntime(handlers=...)`. The listener around it owns everything generic:
`connect`/`disconnect` records, the idle timeout, the connection cap, and catching whatever the
handler raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from infrastructure.runtime.banners import greeting_for, http_response, profile_for, render
from infrastructure.runtime.session import Connection


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """What a handler factory knows about the service instance it serves."""

    decky: str
    hostname: str
    service: str
    config: Mapping[str, str] = field(default_factory=dict)
    distro: str = ""  # the decky's distro slug, for emulators that show an OS (ssh, telnet)


class ServiceHandler(Protocol):
    """Speaks the service's protocol on one connection; returning closes it."""

    async def __call__(self, conn: Connection) -> None:
        """Serve one connection; read via `conn.recv*`, write via `conn.send`."""
        ...


HandlerFactory = Callable[[ServiceContext], ServiceHandler]


class BannerHandler:
    """Says the service's banner, answers each chunk with its canned reply, records the rest."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._profile = profile_for(ctx.service)
        self._greeting = greeting_for(ctx.service, ctx.config, ctx.hostname)
        self._reply = render(self._profile.reply, ctx.hostname)
        self._http = (
            http_response(ctx.service, ctx.config)
            if self._profile.http_server is not None
            else None
        )

    async def __call__(self, conn: Connection) -> None:
        """Serve one connection until the peer leaves, idles, or the reply closes it."""
        if self._http is not None:
            await self._serve_http(conn, self._http)
            return
        if self._greeting:
            await conn.send(self._greeting)
        while await conn.recv():
            if self._reply:
                await conn.send(self._reply)
            if self._profile.close_after_reply:
                return

    @staticmethod
    async def _serve_http(conn: Connection, response: bytes) -> None:
        # One request per connection (the response says `Connection: close`).
        head = await conn.recv_until(b"\r\n\r\n")
        if head:
            await conn.send(response)


def resolve_handler(registry: Mapping[str, HandlerFactory], ctx: ServiceContext) -> ServiceHandler:
    """The registered emulator for the service, else the banner handler."""
    factory = registry.get(ctx.service, BannerHandler)
    return factory(ctx)
