"""SFTP and SCP over the fake tree; uploads go to the artifact store.

Listings and reads come from the session's in-memory filesystem. Every asyncssh method that
would touch the real disk is overridden; none falls through to the base class.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
import asyncssh

from infrastructure.artifacts.writer import QuotaExceeded
from infrastructure.emulators.shell import FakeFS, FsError, Node
from infrastructure.emulators.shell.fs import resolve
from infrastructure.emulators.shell.login import clip
from infrastructure.emulators.ssh.session import SshSession
from infrastructure.emulators.ssh.upload import Upload

MAX_UPLOADS = 64  # files per connection: bounds inode use whatever the byte caps allow
_WRITE_FLAGS = asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
_ERRORS: dict[str, Callable[[str], asyncssh.SFTPError]] = {
    "ENOENT": asyncssh.SFTPNoSuchFile,
    "EACCES": asyncssh.SFTPPermissionDenied,
}
NO_SPACE = "No space left on device"


def _sftp_error(exc: FsError) -> asyncssh.SFTPError:
    return _ERRORS.get(exc.code, asyncssh.SFTPFailure)(str(exc))


class _Reading:
    """An open handle on a fake file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class FakeSFTPServer(asyncssh.SFTPServer):
    """The SFTP (and SCP) server of one authenticated channel."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], session: SshSession) -> None:
        super().__init__(chan)
        if session.fs is None or session.user is None:
            raise asyncssh.SFTPPermissionDenied("not authenticated")
        self._session = session
        self._fs: FakeFS = session.fs
        self._home = "/root" if session.user == "root" else f"/home/{session.user}"
        self._transfer = "scp" if (chan.get_command() or "").startswith("scp ") else "sftp"

    def _path(self, raw: bytes) -> str:
        return resolve(raw.decode("utf-8", "replace") or ".", self._home, self._home)

    def _node(self, path: str) -> Node:
        node = self._fs.get(path)
        if node is None:
            raise asyncssh.SFTPNoSuchFile("No such file")
        return node

    def _attrs(self, node: Node) -> asyncssh.SFTPAttrs:
        uid = self._uid(node.owner)
        kind = stat.S_IFDIR if node.kind == "dir" else stat.S_IFREG
        stamp = int(node.mtime.timestamp())
        return asyncssh.SFTPAttrs(
            type=asyncssh.FILEXFER_TYPE_DIRECTORY
            if node.kind == "dir"
            else asyncssh.FILEXFER_TYPE_REGULAR,
            size=node.size,
            uid=uid,
            gid=uid,
            permissions=kind | node.mode,
            atime=stamp,
            mtime=stamp,
            nlink=2 if node.kind == "dir" else 1,
        )

    def _uid(self, owner: str) -> int:
        accounts = self._fs.machine.accounts
        return 1000 + accounts.index(owner) if owner in accounts else 0

    def format_user(self, uid: int | None) -> str:
        """Owner names from the fake /etc/passwd, never the real host's."""
        if not uid:
            return "root"
        accounts = self._fs.machine.accounts
        index = uid - 1000
        return accounts[index] if 0 <= index < len(accounts) else str(uid)

    def format_group(self, gid: int | None) -> str:
        """Groups are named after their users, as useradd makes them."""
        return self.format_user(gid)

    def realpath(self, path: bytes) -> bytes:
        """The absolute fake path."""
        return self._path(path).encode()

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        """Attributes from the fake tree."""
        return self._attrs(self._node(self._path(path)))

    lstat = stat

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        """`.`, `..` and the directory's fake entries."""
        directory = self._path(path)
        try:
            names = self._fs.listdir(directory)
        except FsError as exc:
            raise _sftp_error(exc) from exc
        parent = posixpath.dirname(directory)
        for name, full in ((".", directory), ("..", parent)):
            yield asyncssh.SFTPName(name.encode(), attrs=self._attrs(self._node(full)))
        for name in names:
            node = self._node(posixpath.join(directory, name))
            yield asyncssh.SFTPName(name.encode(), attrs=self._attrs(node))

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        """Reads come from the fake tree; any write opens an upload into the artifact store."""
        target = self._path(path)
        if pflags & _WRITE_FLAGS:
            return self._start_upload(target)
        node = self._node(target)
        if node.kind == "dir":
            raise asyncssh.SFTPFailure("Is a directory")
        try:
            return _Reading(self._fs.read(target).encode())
        except FsError as exc:
            raise _sftp_error(exc) from exc

    def _start_upload(self, target: str) -> Upload:
        node = self._fs.get(target)
        if (node is not None and node.kind == "dir") or not self._fs.writable(target):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        if self._session.uploads >= MAX_UPLOADS:
            raise asyncssh.SFTPFailure(NO_SPACE)
        self._session.uploads += 1
        upload = Upload(self._session.artifacts, self._session.decky, "ssh", target)
        self._session.open_uploads.add(upload)
        return upload

    def open56(self, path: bytes, access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        """SFTP v5+ opens are not offered (the server negotiates v3, as OpenSSH does)."""
        raise asyncssh.SFTPOpUnsupported("Operation unsupported")

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        """Bytes of a fake file (EOF past its end)."""
        if not isinstance(file_obj, _Reading):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return file_obj.data[offset : offset + size]

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        """Stream an upload; past a cap it is discarded, recorded once, and refused."""
        if not isinstance(file_obj, Upload):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        already_refused = file_obj.refused
        try:
            await anyio.to_thread.run_sync(file_obj.write, offset, data)
        except QuotaExceeded:
            if not already_refused:
                await self._refused(file_obj)
            raise asyncssh.SFTPFailure(NO_SPACE) from None
        return len(data)

    async def close(self, file_obj: object) -> None:
        """Finishing an upload stores it and records `file_captured`."""
        # A handle still open when the client vanishes is closed here by asyncssh too: the
        # partial file is kept, as a real sftp-server would leave it on disk.
        if not isinstance(file_obj, Upload) or file_obj not in self._session.open_uploads:
            return
        self._session.open_uploads.discard(file_obj)
        if file_obj.refused:
            return
        try:
            captured = await anyio.to_thread.run_sync(file_obj.finish)
        except QuotaExceeded:  # the disk refused the last bytes (StorageFull): discarded
            await self._refused(file_obj)
            raise asyncssh.SFTPFailure(NO_SPACE) from None
        self._show(file_obj.path, captured.size if captured else 0)
        if captured is not None:
            await self._session.record(
                "file_captured",
                f"{self._transfer} upload {clip(file_obj.path)} stored as {captured.stored_as}",
                **captured.fields(),
                transfer=self._transfer,
            )

    def _show(self, path: str, size: int) -> None:
        # The upload appears in the fake tree (size only), so a following `ls` shows it.
        with contextlib.suppress(FsError):
            self._fs.write(path, "", size=size)

    async def _refused(self, upload: Upload) -> None:
        await self._session.record(
            "upload_refused",
            f"{self._transfer} upload {clip(upload.path)} refused: storage cap",
            orig_path=clip(upload.path),
            bytes_received=str(upload.received),
            reason="cap_exceeded",
            transfer=self._transfer,
        )

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        """Size of an open handle."""
        size = len(file_obj.data) if isinstance(file_obj, _Reading) else 0
        return asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, size=size)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        """Accepted and ignored (`scp -p`, `put -p` set times and modes)."""

    lsetstat = setstat

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        """Accepted and ignored."""

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        """Create a fake directory."""
        self._fs_call(self._fs.mkdir, self._path(path))

    def remove(self, path: bytes) -> None:
        """Delete from the fake tree."""
        self._fs_call(self._fs.remove, self._path(path))

    rmdir = remove

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        """Renames are refused as a read-only mount would."""
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    posix_rename = rename
    symlink = rename
    link = rename

    def readlink(self, path: bytes) -> bytes:
        """There are no symlinks in the fake tree."""
        raise asyncssh.SFTPNoSuchFile("No such file")

    def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        """A 39G root filesystem, 24% used (as `df` says)."""
        return asyncssh.SFTPVFSAttrs(4096, 4096, 10_190_000, 7_744_000, 7_744_000, 2_600_000,
                                     2_350_000, 2_350_000, 0, 0, 255)  # fmt: skip

    def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        """As `statvfs`."""
        return self.statvfs(b"/")

    def lock(self, file_obj: object, offset: int, length: int, flags: int) -> None:
        """Locks are not supported."""
        raise asyncssh.SFTPOpUnsupported("Operation unsupported")

    def unlock(self, file_obj: object, offset: int, length: int) -> None:
        """Locks are not supported."""
        raise asyncssh.SFTPOpUnsupported("Operation unsupported")

    def fsync(self, file_obj: object) -> None:
        """Nothing to flush."""

    def exit(self) -> None:
        """End the SFTP session with status 0, as sftp-server does (OpenSSH's scp checks it)."""
        # SCP reports its own status first; this is then a no-op on the closed channel.
        if self._transfer == "sftp":
            self.channel.exit(0)

    @staticmethod
    def _fs_call(operation: Callable[[str], None], path: str) -> None:
        try:
            operation(path)
        except FsError as exc:
            raise _sftp_error(exc) from exc
