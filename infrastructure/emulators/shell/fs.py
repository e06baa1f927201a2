"""An in-memory filesystem per session: a distro's tree plus the session's own (capped) writes.

Nothing here touches the real disk: every path is a key in a dict, so `../../` tricks only
ever move around inside the fake tree.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from infrastructure.emulators.shell.files import system_files
from infrastructure.emulators.shell.machine import Machine, utc_now

MAX_FILE_BYTES = 64 * 1024  # a session's own file content kept in memory
MAX_SESSION_BYTES = 1024 * 1024
MAX_NEW_NODES = 2000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_DIRS = _words(
    "/bin /boot /dev /dev/shm /etc /etc/ssh /etc/cron.d /home /lib /lib64 /media /mnt /opt "
    "/proc /root /run /sbin /srv /sys /tmp /usr /usr/bin /usr/lib /usr/local /usr/local/bin "
    "/usr/sbin /usr/share /var /var/backups /var/cache /var/lib /var/log /var/mail /var/spool "
    "/var/tmp /var/www"
)
# World-writable with the sticky bit, as on a real box (fake paths, not real temp files).
_STICKY = frozenset(_words("/tmp /var/tmp /dev/shm"))  # noqa: S108 - fake paths
_BINARIES = _words(
    "bash sh cat chmod chown cp date df echo grep gzip hostname kill ln ls mkdir mount mv ps "
    "pwd rm sed sleep tar touch uname which"
)
_USR_BINARIES = _words(
    "awk base64 curl du env find free head id ip less nano nohup perl python3 scp sort ssh "
    "sudo tail top uptime vi w wc wget whoami xargs"
)
_ELF = "\x7fELF\x02\x01\x01"

Kind = Literal["dir", "file"]
_MESSAGES = {
    "ENOENT": "No such file or directory",
    "ENOTDIR": "Not a directory",
    "EISDIR": "Is a directory",
    "EACCES": "Permission denied",
    "ENOSPC": "No space left on device",
    "EEXIST": "File exists",
}


class FsError(Exception):
    """A failed filesystem operation, carrying the errno name and the strerror text."""

    def __init__(self, code: str) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code


@dataclass(slots=True)
class Node:
    """One file or directory."""

    kind: Kind
    mtime: datetime
    content: str = ""
    mode: int = 0o644
    owner: str = "root"
    fake_size: int | None = None  # binaries show a real-looking size without the bytes

    @property
    def size(self) -> int:
        """Bytes as `ls -l` shows them."""
        if self.kind == "dir":
            return 4096
        return self.fake_size if self.fake_size is not None else len(self.content.encode())


@dataclass(slots=True)
class FakeFS:
    """The tree of one session."""

    machine: Machine
    user: str
    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    written: int = 0
    created: int = 0

    def __post_init__(self) -> None:
        self._seed()

    def get(self, path: str) -> Node | None:
        """The node at an absolute normalised path."""
        return self.nodes.get(path)

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory."""
        node = self._existing(path)
        if node.kind != "dir":
            raise FsError("ENOTDIR")
        self._check(path, node, write=False)
        return sorted(self.children.get(path, ()))

    def read(self, path: str) -> str:
        """A file's text."""
        node = self._existing(path)
        if node.kind == "dir":
            raise FsError("EISDIR")
        self._check(path, node, write=False)
        return node.content

    def write(self, path: str, text: str, *, append: bool = False, size: int | None = None) -> None:
        """Create or replace (or append to) a file, within the session's memory caps."""
        node = self.nodes.get(path)
        if node is not None and node.kind == "dir":
            raise FsError("EISDIR")
        self._check_parent(path)
        if node is not None:
            self._check(path, node, write=True)
        new_text = (node.content if node and append else "") + text
        encoded = len(text.encode())
        if len(new_text.encode()) > MAX_FILE_BYTES or self.written + encoded > MAX_SESSION_BYTES:
            raise FsError("ENOSPC")
        self.written += encoded
        self._add(path, Node("file", utc_now(), new_text, 0o644, self.user, size))

    def mkdir(self, path: str) -> None:
        """Create one directory."""
        if path in self.nodes:
            raise FsError("EEXIST")
        self._check_parent(path)
        self._add(path, Node("dir", utc_now(), mode=0o755, owner=self.user))

    def remove(self, path: str) -> None:
        """Delete a file or an empty directory the user may write to."""
        node = self._existing(path)
        parent = posixpath.dirname(path)
        self._check(parent, self._existing(parent), write=True)
        if node.kind == "dir" and self.children.get(path):
            raise FsError("EEXIST")
        del self.nodes[path]
        self.children.get(parent, set()).discard(posixpath.basename(path))

    def writable(self, path: str) -> bool:
        """Whether the user could create or replace a file at `path`."""
        try:
            self._check_parent(path)
        except FsError:
            return False
        return True

    def _existing(self, path: str) -> Node:
        node = self.nodes.get(path)
        if node is None:
            raise FsError("ENOENT")
        return node

    def _check_parent(self, path: str) -> None:
        parent = self._existing(posixpath.dirname(path))
        if parent.kind != "dir":
            raise FsError("ENOTDIR")
        self._check(posixpath.dirname(path), parent, write=True)

    def _check(self, path: str, node: Node, *, write: bool) -> None:
        if self.user == "root" or node.owner == self.user:
            return
        other = node.mode & (0o002 if write else 0o004)
        if not other:
            raise FsError("EACCES")

    def _add(self, path: str, node: Node) -> None:
        if path not in self.nodes:
            if self.created >= MAX_NEW_NODES:
                raise FsError("ENOSPC")
            self.created += 1
        self._place(path, node)

    def _place(self, path: str, node: Node) -> None:
        self.nodes[path] = node
        if path != "/":
            self.children.setdefault(posixpath.dirname(path), set()).add(posixpath.basename(path))

    def _seed(self) -> None:
        boot = self.machine.boot_time
        self._place("/", Node("dir", boot, mode=0o755))
        for path in _DIRS:
            mode = 0o1777 if path in _STICKY else 0o700 if path == "/root" else 0o755
            self._place(path, Node("dir", boot, mode=mode))
        for name in self.machine.accounts:
            self._place(f"/home/{name}", Node("dir", boot, mode=0o750, owner=name))
            self._place(f"/home/{name}/.bashrc", Node("file", boot, "# ~/.bashrc\n", owner=name))
        for directory, names in (("/bin", _BINARIES), ("/usr/bin", _USR_BINARIES)):
            for index, name in enumerate(names):
                size = 35_000 + (index * 7919) % 900_000
                self._place(f"{directory}/{name}", Node("file", boot, _ELF, 0o755, "root", size))
        for path, text in system_files(self.machine).items():
            mode = 0o640 if path == "/etc/shadow" else 0o444 if path.startswith("/proc") else 0o644
            self._place(path, Node("file", boot, text, mode))
        self._place("/root/.bash_history", Node("file", boot, "", 0o600))


def resolve(path: str, cwd: str, home: str) -> str:
    """`path` as seen from `cwd`, absolute and normalised (`~` is the home directory)."""
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    joined = posixpath.join(cwd, path)
    normal = posixpath.normpath(joined)
    # normpath keeps a leading "//" (POSIX allows it); the fake tree has one root.
    return "/" + normal.lstrip("/")
