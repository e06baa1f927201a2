"""FTP data-transfer commands: PASV/EPSV, LIST/NLST, RETR (logged), STOR (captured), SIZE/MDTM."""

from __future__ import annotations

import posixpath

import anyio.to_thread

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.artifacts.writer import QuotaExceeded, StorageFull
from infrastructure.emulators.ftp.data import (
    DataChannelError,
    PassiveChannel,
    receive_upload,
    send_data,
)
from infrastructure.emulators.ftp.fs import (
    FakeDir,
    FakeFile,
    list_long,
    list_names,
    lookup,
    resolve,
)
from infrastructure.emulators.ftp.session import FtpSession
from infrastructure.runtime.handlers import ServiceContext

_MTIME = "20240314092100"


class FileCommands:
    """The commands that move bytes over a passive data connection."""

    def __init__(self, ctx: ServiceContext, artifacts: ArtifactStore) -> None:
        self._ctx = ctx
        self._artifacts = artifacts

    async def pasv(self, session: FtpSession, _: str) -> None:
        """Open a passive port and announce it the IPv4 way."""
        port = await session.open_passive()
        address = session.conn.local_ip.replace(".", ",")
        await session.reply(f"227 Entering Passive Mode ({address},{port >> 8},{port & 0xFF}).")

    async def epsv(self, session: FtpSession, argument: str) -> None:
        """Open a passive port and announce it the RFC 2428 way."""
        if argument.upper() == "ALL":
            await session.reply("200 EPSV ALL ok.")
            return
        port = await session.open_passive()
        await session.reply(f"229 Entering Extended Passive Mode (|||{port}|)")

    async def listing(self, session: FtpSession, argument: str, *, long_format: bool) -> None:
        """LIST (ls -l style) or NLST (names) of a fake directory."""
        # `ls`-style flags (LIST -la) are not paths.
        words = [w for w in argument.split() if not w.startswith("-")]
        path = resolve(session.cwd, words[0] if words else "")
        node = lookup(session.tree, path) or FakeDir()
        name = posixpath.basename(path)
        listing = list_long(node, name) if long_format else list_names(node, name)
        await self._transfer(session, "150 Here comes the directory listing.", listing)

    async def retr(self, session: FtpSession, argument: str) -> None:
        """Log the download attempt; serve the bait's content or refuse."""
        path = resolve(session.cwd, argument)
        node = lookup(session.tree, path)
        content = node.content if isinstance(node, FakeFile) else None
        result = "denied" if content is None else "sent"
        await session.conn.record("download", f"RETR {path}", path=path, result=result)
        if content is None:
            await session.reply("550 Failed to open file.")
            return
        opening = f"150 Opening BINARY mode data connection for {path} ({len(content)} bytes)."
        await self._transfer(session, opening, content)

    async def size(self, session: FtpSession, argument: str) -> None:
        """SIZE of a fake file."""
        node = lookup(session.tree, resolve(session.cwd, argument))
        if isinstance(node, FakeFile):
            await session.reply(f"213 {node.size}")
        else:
            await session.reply("550 Could not get file size.")

    async def mdtm(self, session: FtpSession, argument: str) -> None:
        """MDTM of a fake file (one fixed time: the tree is a snapshot)."""
        node = lookup(session.tree, resolve(session.cwd, argument))
        found = isinstance(node, FakeFile)
        await session.reply(f"213 {_MTIME}" if found else "550 Could not get file time.")

    async def stor(self, session: FtpSession, argument: str) -> None:
        """Receive an upload into the artifact store; it then lists in this session's tree."""
        path = resolve(session.cwd, argument)
        parent = lookup(session.tree, posixpath.dirname(path))
        name = posixpath.basename(path)
        is_dir = isinstance(lookup(session.tree, path), FakeDir)
        if not argument or not name or is_dir or not isinstance(parent, FakeDir):
            await session.reply("553 Could not create file.")
            return
        channel = session.take_passive()
        if channel is None:
            await session.reply("425 Use PORT or PASV first.")
            return
        await session.reply("150 Ok to send data.")
        size = await self._capture(session, channel, path)
        if size is not None:
            parent.children[name] = FakeFile(size)
            await session.reply("226 Transfer complete.")

    async def _transfer(self, session: FtpSession, opening: str, payload: bytes) -> None:
        channel = session.take_passive()
        if channel is None:
            await session.reply("425 Use PORT or PASV first.")
            return
        await session.reply(opening)
        try:
            await send_data(channel, payload)
        except DataChannelError:
            await session.reply("425 Failed to establish connection.")
            return
        await session.reply("226 Transfer complete.")

    async def _capture(self, session: FtpSession, channel: PassiveChannel, path: str) -> int | None:
        """Stream the upload into the store; its size, or None once a failure was answered."""
        decky, service = self._ctx.decky, self._ctx.service
        upload = await anyio.to_thread.run_sync(self._artifacts.open_upload, decky, service, path)
        try:
            await receive_upload(channel, upload)
            captured = await anyio.to_thread.run_sync(upload.finish)
        except StorageFull:  # the disk is full; the writer already discarded the partial file
            await session.conn.record("upload_rejected", f"STOR {path}: disk full", path=path)
            await session.reply("452 Requested action not taken. Insufficient storage space.")
            return None
        except QuotaExceeded:  # the writer already discarded the partial file
            await session.conn.record("upload_rejected", f"STOR {path} over cap", path=path)
            await session.reply("552 Requested file action aborted. Exceeded storage allocation.")
            return None
        except DataChannelError:
            await anyio.to_thread.run_sync(upload.abort)
            await session.reply("426 Failure writing network stream.")
            return None
        except BaseException:
            # Cancelled mid-upload: leave no temporary file behind.
            await anyio.to_thread.run_sync(upload.abort)
            raise
        msg = f"captured {path} ({captured.size} bytes)"
        await session.conn.record("file_captured", msg, **captured.fields())
        return captured.size
