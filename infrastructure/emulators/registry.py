"""Which emulator serves which service; services without one get the banner handler."""

from __future__ import annotations

from collections.abc import Callable

from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.ftp.server import handlers as ftp_handlers
from infrastructure.emulators.http.server import handlers as http_handlers
from infrastructure.emulators.mysql.server import handlers as mysql_handlers
from infrastructure.emulators.postgres.server import handlers as postgres_handlers
from infrastructure.emulators.redis.server import handlers as redis_handlers
from infrastructure.emulators.smtp.server import handlers as smtp_handlers
from infrastructure.emulators.ssh.server import handlers as ssh_handlers
from infrastructure.emulators.telnet.server import handlers as telnet_handlers
from infrastructure.runtime.handlers import HandlerFactory

__all__ = ["EmulatorDeps", "emulator_handlers"]

EMULATORS: tuple[Callable[[EmulatorDeps], dict[str, HandlerFactory]], ...] = (
    ftp_handlers,
    http_handlers,
    mysql_handlers,
    postgres_handlers,
    redis_handlers,
    smtp_handlers,
    ssh_handlers,
    telnet_handlers,
)


def emulator_handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The handler factory for every service that has a full emulator."""
    handlers: dict[str, HandlerFactory] = {}
    for emulator in EMULATORS:
        handlers.update(emulator(deps))
    return handlers
