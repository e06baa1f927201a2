"""Which emulator serves which service; services without one get the banner handler."""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.emulators.artifacts import ArtifactStore
from infrastructure.runtime.handlers import HandlerFactory


@dataclass(frozen=True, slots=True)
class EmulatorDeps:
    """What emulators share: where uploads go (records go through the runtime's sink)."""

    artifacts: ArtifactStore


def emulator_handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The handler factory for every service that has a full emulator."""
    handlers: dict[str, HandlerFactory] = {}
    # Each emulator module adds its entries here, e.g. handlers.update(ssh.handlers(deps)).
    return handlers
