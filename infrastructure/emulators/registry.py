"""Which emulator serves which service; services without one get the banner handler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infrastructure.emulators import ftp, http, mysql, redis, smtp, ssh, telnet
from infrastructure.emulators.artifacts import ArtifactStore
from infrastructure.runtime.handlers import HandlerFactory


@dataclass(frozen=True, slots=True)
class EmulatorDeps:
    """What emulators share: where uploads go (records go through the runtime's sink)."""

    artifacts: ArtifactStore
    # Self-signed https certificates, one per decky, kept across restarts; None means
    # `<artifacts root>/.tls` (never served: not a valid decky directory name).
    tls_dir: Path | None = None
    # SSH host keys, one set per decky, kept across restarts; None means
    # `<artifacts root>/.ssh-host-keys` (never served, like `.tls`).
    ssh_keys_dir: Path | None = None


def emulator_handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The handler factory for every service that has a full emulator."""
    handlers: dict[str, HandlerFactory] = {}
    for module in (ftp, http, mysql, redis, smtp, ssh, telnet):
        handlers.update(module.handlers(deps))
    return handlers
