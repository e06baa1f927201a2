"""One SSH connection's state and its authentication callbacks (every attempt is recorded)."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio.to_thread
import asyncssh

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.shell import FakeFS, Machine, Shell
from infrastructure.emulators.shell.login import (
    LoginPolicy,
    clip,
    session_machine,
    shell_user,
)
from infrastructure.emulators.ssh.upload import Upload
from infrastructure.runtime.session import Connection

MAX_AUTH_ATTEMPTS = 6  # OpenSSH's MaxAuthTries default; then "Too many authentication failures"


@dataclass(slots=True)
class SshSession:
    """What the shell, exec and SFTP channels of one connection share."""

    conn: Connection
    decky: str
    base: Machine
    policy: LoginPolicy
    artifacts: ArtifactStore
    user: str | None = None
    machine: Machine | None = None
    fs: FakeFS | None = None
    failures: int = 0
    uploads: int = 0
    open_uploads: set[Upload] = field(default_factory=set)
    ssh: asyncssh.SSHServerConnection | None = field(default=None, repr=False)

    def login(self, username: str) -> None:
        """Attach the session to the account `username` lands in, with its own fake tree."""
        self.user = shell_user(username)
        self.machine = session_machine(self.base, self.conn.local_ip, self.user)
        self.fs = FakeFS(self.machine, self.user)

    def shell(self, *, login: bool) -> Shell:
        """A shell on this session's tree (an `exec` is a non-login shell)."""
        if self.machine is None or self.fs is None or self.user is None:
            raise RuntimeError("shell requested before authentication")
        return Shell(self.machine, self.user, fs=self.fs, client_ip=self.conn.peer_ip, login=login)

    async def abandon_uploads(self) -> None:
        """Discard uploads still open when the connection is torn down without closing them."""
        uploads = list(self.open_uploads)
        self.open_uploads.clear()
        for upload in uploads:
            await anyio.to_thread.run_sync(upload.abort)

    async def record(self, event_type: str, msg: str, **fields: str) -> None:
        """Emit a record about this connection."""
        await self.conn.record(event_type, msg, **fields)


class AuthServer(asyncssh.SSHServer):
    """Password and public-key authentication: records each attempt, accepts configured pairs."""

    def __init__(self, session: SshSession) -> None:
        self._session = session

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        """Keep the connection so too many failures can end it."""
        self._session.ssh = conn

    def begin_auth(self, username: str) -> bool:
        """Authentication is always required."""
        return True

    def password_auth_supported(self) -> bool:
        """Passwords (and keyboard-interactive, which asyncssh maps onto them) are offered."""
        return True

    def public_key_auth_supported(self) -> bool:
        """Keys are offered so key attempts can be fingerprinted; none is ever accepted."""
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        """Record the attempt; accept it when the INI's `password` / `users` allow it."""
        accepted = self._session.policy.accepts(username, password)
        result = "success" if accepted else "failure"
        await self._session.record(
            "auth",
            f"password for {clip(username)}: {result}",
            username=clip(username),
            password=clip(password),
            method="password",
            result=result,
        )
        if accepted:
            self._session.login(username)
        else:
            self._failed()
        return accepted

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """Record the key's type and SHA256 fingerprint, then refuse it."""
        await self._session.record(
            "auth",
            f"public key for {clip(username)}: failure",
            username=clip(username),
            method="publickey",
            key_type=key.get_algorithm(),
            key_fingerprint=key.get_fingerprint("sha256"),
            result="failure",
        )
        self._failed()
        return False

    def _failed(self) -> None:
        self._session.failures += 1
        ssh = self._session.ssh
        if self._session.failures >= MAX_AUTH_ATTEMPTS and ssh is not None:
            ssh.disconnect(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "Too many authentication failures"
            )
