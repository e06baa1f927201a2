"""SSH host keys: generated once per decky and kept on disk, so a decky's fingerprint is stable.

A honeypot whose host key changes on every restart is spotted by any returning attacker (their
client warns loudly), so keys persist across restarts and reconfigurations.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncssh

from domain.observations.artifacts import safe_name

# What a stock OpenSSH server offers; RSA keeps old bots (and old libssh/paramiko) able to talk.
KEY_ALGORITHMS: tuple[tuple[str, str, int | None], ...] = (
    ("ssh_host_ed25519_key", "ssh-ed25519", None),
    ("ssh_host_ecdsa_key", "ecdsa-sha2-nistp256", None),
    ("ssh_host_rsa_key", "ssh-rsa", 3072),
)


class HostKeyStore:
    """Loads (or creates) the host keys of each decky under `directory/<decky>/`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, list[asyncssh.SSHKey]] = {}
        self._lock = asyncio.Lock()

    async def keys_for(self, decky: str) -> list[asyncssh.SSHKey]:
        """The decky's host keys; the first call may generate them (in a thread: RSA is slow)."""
        async with self._lock:
            keys = self._cache.get(decky)
            if keys is None:
                keys = await asyncio.to_thread(self._load_or_create, decky)
                self._cache[decky] = keys
            return keys

    def _load_or_create(self, decky: str) -> list[asyncssh.SSHKey]:
        folder = self.directory / safe_name(decky)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return [_key_file(folder / name, alg, bits) for name, alg, bits in KEY_ALGORITHMS]


def _key_file(path: Path, algorithm: str, bits: int | None) -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.import_private_key(path.read_bytes())
    key = (
        asyncssh.generate_private_key(algorithm, key_size=bits)
        if bits
        else asyncssh.generate_private_key(algorithm)
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Private keys are written 0600 and renamed into place, so a crash never leaves half a key.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    os.replace(tmp, path)
    return key
