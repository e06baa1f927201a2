"""What every emulator is built with; its own module so emulators never import the registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infrastructure.artifacts.store import ArtifactStore


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
