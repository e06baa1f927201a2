"""State of one FTP control connection: who is logged in, where, and the pending data port."""

from __future__ import annotations

from dataclasses import dataclass, field

from infrastructure.emulators.ftp.data import PassiveChannel
from infrastructure.emulators.ftp.fs import HOME, FakeDir, default_tree
from infrastructure.runtime.session import Connection


@dataclass(slots=True)
class FtpSession:
    """One control connection; each gets its own copy of the fake tree (uploads show up in it)."""

    conn: Connection
    cwd: str = HOME
    pending_user: str | None = None
    user: str | None = None
    failures: int = 0
    passive: PassiveChannel | None = None
    closing: bool = False
    tree: FakeDir = field(default_factory=default_tree)

    async def reply(self, line: str) -> None:
        """Send one reply line (multi-line replies carry their own inner CRLFs)."""
        await self.conn.send(f"{line}\r\n".encode())

    async def open_passive(self) -> int:
        """A fresh passive port on the decky's address (replacing any unused one)."""
        await self.close_passive()
        channel = PassiveChannel(self.conn.peer_ip)
        port = await channel.open(self.conn.local_ip)
        self.passive = channel
        return port

    def take_passive(self) -> PassiveChannel | None:
        """The pending passive port, consumed: each transfer needs a new PASV/EPSV."""
        channel, self.passive = self.passive, None
        return channel

    async def close_passive(self) -> None:
        """Stop listening on an unused passive port."""
        channel = self.take_passive()
        if channel is not None:
            await channel.close()
