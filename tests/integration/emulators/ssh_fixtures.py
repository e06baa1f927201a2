"""Shared helpers for the ssh and telnet tests: a local runtime serving them on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
import asyncssh
from asyncssh import SSHClientConnection

from domain.observations.records import InteractionRecord
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.ssh.server import SshEmulator
from infrastructure.emulators.telnet.server import TelnetHandler
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext, ServiceHandler
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions
from tests.contract.conftest import make_spec
from tests.fakes import MemorySink

TIMEOUT_S = 10.0  # bound for every client operation: a hung emulator fails the test
DECKY = "shell-01"  # one name across tests, so its host keys are generated once per session
LOGINS = {"users": "deploy:s3cret,admin:Admin123", "password": "toor"}


@dataclass(frozen=True, slots=True)
class Shelled:
    """A running decky with ssh and telnet: where it listens, what it recorded and stored."""

    ip: str
    ports: Mapping[str, int]
    sink: MemorySink
    store: ArtifactStore
    keys_dir: Path

    def records(self, service: str, event_type: str) -> list[InteractionRecord]:
        """Records of one service and event type, in emission order."""
        return self.sink.matching(decky=DECKY, service=service, event_type=event_type)

    async def wait_for(self, service: str, event_type: str, **fields: str) -> InteractionRecord:
        """The first record of that service and type carrying `fields` (waits up to 3 s)."""
        return await self.sink.wait_for_event(DECKY, service, event_type, **fields)

    def stored_files(self) -> list[Path]:
        """Every file under the decky's artifact directory (temporary ones included)."""
        base = self.store.root / DECKY
        return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def _telnet(ctx: ServiceContext) -> ServiceHandler:
    # The production pause after a wrong password only slows the test down.
    return TelnetHandler(ctx, fail_delay=0.05)


@asynccontextmanager
async def deploy_shell(
    tmp_path: Path,
    keys_dir: Path,
    ip: str,
    config: Mapping[str, str] | None = None,
    *,
    store: ArtifactStore | None = None,
    distro: str = "ubuntu-22.04",
    idle_timeout: float = 5.0,
) -> AsyncIterator[Shelled]:
    """Run decky `shell-01` with the ssh and telnet emulators on `ip`, on free ports."""
    sink = MemorySink()
    artifacts = store or ArtifactStore(tmp_path / "artifacts")
    handlers: dict[str, HandlerFactory] = {
        "ssh": SshEmulator(artifacts, keys_dir),
        "telnet": _telnet,
    }
    runtime = LocalRuntime(
        sink,
        LocalRuntimeOptions(idle_timeout=idle_timeout, prefer_standard_ports=False),
        handlers=handlers,
    )
    settings = dict(LOGINS if config is None else config)
    spec = make_spec(DECKY, ip, ("ssh", "telnet"), {"ssh": settings, "telnet": settings})
    spec = replace(spec, distro=distro)
    try:
        with anyio.fail_after(TIMEOUT_S):
            report = await runtime.apply(spec)
        assert report.status == "running", report
        yield Shelled(ip, report.ports, sink, artifacts, keys_dir)
    finally:
        await runtime.close()


def client_options(**extra: object) -> dict[str, object]:
    """asyncssh client settings that ignore the machine's own keys, agent and known_hosts."""
    return {
        "known_hosts": None,
        "client_keys": None,
        "agent_path": None,
        "connect_timeout": TIMEOUT_S,
        "preferred_auth": "password",
        **extra,
    }


@asynccontextmanager
async def ssh_login(
    env: Shelled, username: str, password: str
) -> AsyncIterator[SSHClientConnection]:
    """An authenticated asyncssh connection to the decky."""
    with anyio.fail_after(TIMEOUT_S):
        conn = await asyncssh.connect(
            env.ip, env.ports["ssh"], **client_options(username=username, password=password)
        )
    try:
        yield conn
    finally:
        conn.close()
        with anyio.fail_after(TIMEOUT_S):
            await conn.wait_closed()


async def password_refused(env: Shelled, username: str, password: str) -> bool:
    """True when the decky refuses the pair (one connection per attempt, like hydra)."""
    try:
        async with ssh_login(env, username, password):
            return False
    except asyncssh.PermissionDenied:
        return True


def askpass(tmp_path: Path, secret: str) -> dict[str, str]:
    """Environment that makes OpenSSH read `secret` from an askpass script (no terminal)."""
    script = tmp_path / "askpass.sh"
    script.write_text(f"#!/bin/sh\necho '{secret}'\n")
    script.chmod(0o700)
    return {**os.environ, "SSH_ASKPASS": str(script), "SSH_ASKPASS_REQUIRE": "force"}


OPENSSH_OPTIONS = [
    "-F", "/dev/null",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "PubkeyAuthentication=no",
    "-o", "PreferredAuthentications=password,keyboard-interactive",
    "-o", "NumberOfPasswordPrompts=1",
    "-o", "ConnectTimeout=5",
    "-o", "LogLevel=ERROR",
]  # fmt: skip


async def converse(process: asyncssh.SSHClientProcess[str], lines: list[str]) -> str:
    """Type each line once the prompt shows, as a person would; the whole transcript."""
    transcript = await _until_prompt(process)
    for line in lines:
        process.stdin.write(line + "\n")
        transcript += await _until_prompt(process)
    return transcript


async def _until_prompt(process: asyncssh.SSHClientProcess[str]) -> str:
    text = ""
    with anyio.fail_after(TIMEOUT_S):
        while not text.endswith(("# ", "$ ")):
            chunk = await process.stdout.read(4096)
            if not chunk:
                break
            text += chunk
    return text
