"""The ssh emulator (asyncssh): client banner, auth attempts, a fake shell, captured uploads.

Every password and key attempt is recorded; configured credentials open the fake shell, whose
commands (interactive and `exec`) are recorded; SFTP/SCP uploads become artifacts.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from pathlib import Path

import asyncssh

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.shell.login import LoginPolicy, base_machine, clip
from infrastructure.emulators.ssh.bridge import pump_in, pump_out
from infrastructure.emulators.ssh.channel import run_session
from infrastructure.emulators.ssh.keys import HostKeyStore
from infrastructure.emulators.ssh.session import AuthServer, SshSession
from infrastructure.emulators.ssh.sftp import FakeSFTPServer
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext, ServiceHandler
from infrastructure.runtime.session import Connection

LOGIN_TIMEOUT_S = 120.0  # OpenSSH's LoginGraceTime
CLOSE_GRACE_S = 5.0  # after the attacker leaves, time for asyncssh to close uploads and record
# What each distro's own sshd announces, so the banner agrees with `uname` and nmap.
DISTRO_VERSIONS = {
    "ubuntu-22.04": "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
    "ubuntu-20.04": "OpenSSH_8.2p1 Ubuntu-4ubuntu0.11",
    "debian-12": "OpenSSH_9.2p1 Debian-2+deb12u3",
    "debian-11": "OpenSSH_8.4p1 Debian-5+deb11u3",
    "centos-7": "OpenSSH_7.4",
    "rocky-9": "OpenSSH_8.7",
    "alpine-3.19": "OpenSSH_9.6",
    "freebsd-14": "OpenSSH_9.5 FreeBSD-20231004",
    "embedded-busybox": "dropbear_2022.83",
}
DEFAULT_VERSION = DISTRO_VERSIONS["ubuntu-22.04"]
WINDOWS_VERSION = "OpenSSH_for_Windows_8.1"


def server_version(ctx: ServiceContext) -> str:
    """The configured `banner`/`version` (without its `SSH-2.0-`), else the distro's sshd."""
    custom = (ctx.config.get("banner") or ctx.config.get("version") or "").strip()
    custom = custom.removeprefix("SSH-2.0-")
    if custom and custom.isascii() and custom.isprintable() and len(custom) <= 200:
        return custom
    if ctx.distro.startswith("windows"):
        return WINDOWS_VERSION
    return DISTRO_VERSIONS.get(ctx.distro, DEFAULT_VERSION)


class SshHandler:
    """Serves one decky's ssh port."""

    def __init__(self, ctx: ServiceContext, keys: HostKeyStore, artifacts: ArtifactStore) -> None:
        self._ctx = ctx
        self._keys = keys
        self._artifacts = artifacts
        self._policy = LoginPolicy.from_config(ctx.config)
        self._machine = base_machine(ctx, self._policy)
        self._version = server_version(ctx)

    async def __call__(self, conn: Connection) -> None:
        """Run asyncssh for this connection; returns when either side has gone."""
        conn.mute_data()  # ciphertext: the meaningful events are recorded by the session
        host_keys = await self._keys.keys_for(self._ctx.decky)
        session = SshSession(conn, self._ctx.decky, self._machine, self._policy, self._artifacts)
        ours, theirs = socket.socketpair()
        try:
            await self._bridge(conn, session, ours, theirs, host_keys)
        finally:
            ours.close()
            theirs.close()
            await session.abandon_uploads()

    async def _bridge(
        self,
        conn: Connection,
        session: SshSession,
        ours: socket.socket,
        theirs: socket.socket,
        host_keys: list[asyncssh.SSHKey],
    ) -> None:
        reader, writer = await asyncio.open_connection(sock=ours)
        server = asyncio.create_task(self._run_ssh(session, theirs, host_keys))
        inbound = asyncio.create_task(pump_in(conn, writer))
        outbound = asyncio.create_task(pump_out(reader, conn))
        try:
            await asyncio.wait({inbound, outbound}, return_when=asyncio.FIRST_COMPLETED)
            if inbound.done() and inbound.exception() is None:
                # The attacker closed: let asyncssh finish (close uploads, record) first.
                await asyncio.wait({outbound}, timeout=CLOSE_GRACE_S)
        finally:
            for task in (inbound, outbound):
                task.cancel()
            if session.ssh is not None:
                session.ssh.abort()
            writer.close()
            await asyncio.wait({server, inbound, outbound}, timeout=CLOSE_GRACE_S)
            server.cancel()
        for pump in (inbound, outbound):
            failure = pump.exception() if pump.done() and not pump.cancelled() else None
            if failure is not None:
                raise failure  # idle timeout or reset: the listener records which

    async def _run_ssh(
        self, session: SshSession, sock: socket.socket, host_keys: list[asyncssh.SSHKey]
    ) -> None:
        try:
            ssh = await asyncssh.run_server(
                sock,
                server_factory=functools.partial(AuthServer, session),
                server_host_keys=host_keys,
                server_version=self._version,
                process_factory=functools.partial(run_session, session),
                sftp_factory=functools.partial(_sftp, session),
                allow_scp=True,
                login_timeout=LOGIN_TIMEOUT_S,
                agent_forwarding=False,
                x11_forwarding=False,
            )
            await ssh.wait_closed()
        except (asyncssh.Error, OSError, TimeoutError):
            pass  # failed auth, a client that vanished, a non-SSH probe: all already recorded


async def _sftp(session: SshSession, chan: asyncssh.SSHServerChannel[bytes]) -> FakeSFTPServer:
    command = chan.get_command()
    if command:  # `scp -t path` arrives as an exec request; record it like any other
        await session.record("exec", f"exec: {clip(command)}", command=clip(command))
    return FakeSFTPServer(chan, session)


class SshEmulator:
    """The `HandlerFactory` for ssh: one host-key store shared by every decky."""

    def __init__(self, artifacts: ArtifactStore, keys_dir: Path) -> None:
        self._artifacts = artifacts
        self._keys = HostKeyStore(keys_dir)

    def __call__(self, ctx: ServiceContext) -> ServiceHandler:
        """The handler for one decky's ssh service."""
        return SshHandler(ctx, self._keys, self._artifacts)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """Registry entry; host keys persist in `deps.ssh_keys_dir` (default under the root)."""
    # A dot directory is never served: it is not a valid decky name for the artifacts route.
    directory = deps.ssh_keys_dir or deps.artifacts.root / ".ssh-host-keys"
    return {"ssh": SshEmulator(deps.artifacts, directory)}
