"""The FTP emulator's fake directory tree: pure data, never the real filesystem.

Paths are resolved with `posixpath` on strings only, so `../../etc/passwd` just lands on a node
of this tree (or on nothing).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

HOME = "/home/ftp"
_STAMP = "Mar 14 09:21"


@dataclass(frozen=True, slots=True)
class FakeFile:
    """A file in the tree; `content` None means it lists but cannot be read (permission)."""

    size: int
    content: bytes | None = None


@dataclass(slots=True)
class FakeDir:
    """A directory: child name to node."""

    children: dict[str, FakeDir | FakeFile] = field(default_factory=dict)


Node = FakeDir | FakeFile

_README = b"Internal file drop. Contact it-ops@ before removing anything.\n"
_NOTES = b"backup rotation: weekly, keep 4\nnas creds moved to vault (ask Pete)\n"


def _text(content: bytes) -> FakeFile:
    return FakeFile(len(content), content)


def default_tree() -> FakeDir:
    """A believable small file server: readable bait plus large files that refuse to download."""
    return FakeDir(
        {
            "home": FakeDir(
                {
                    "ftp": FakeDir(
                        {
                            "README.txt": _text(_README),
                            "pub": FakeDir({"notes.txt": _text(_NOTES)}),
                            "backup": FakeDir(
                                {
                                    "db_dump_2024-03-10.sql.gz": FakeFile(48_213_504),
                                    "www_2024-03-10.tar.gz": FakeFile(131_072_000),
                                }
                            ),
                            "upload": FakeDir(),
                        }
                    )
                }
            ),
            "etc": FakeDir({"passwd": FakeFile(1_876), "vsftpd.conf": FakeFile(5_850)}),
            "var": FakeDir({"log": FakeDir()}),
        }
    )


def resolve(cwd: str, argument: str) -> str:
    """The absolute, normalised path `argument` names from `cwd` (string arithmetic only)."""
    joined = posixpath.join(cwd, argument) if argument else cwd
    normal = posixpath.normpath(joined)
    # normpath keeps a leading `//`; one root is enough.
    return "/" + normal.lstrip("/")


def lookup(root: FakeDir, path: str) -> Node | None:
    """The node at an absolute path, or None."""
    node: Node = root
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, FakeDir) or part not in node.children:
            return None
        node = node.children[part]
    return node


def list_long(node: Node, name: str) -> bytes:
    """`LIST` output in vsftpd's `ls -l` format."""
    entries: Mapping[str, Node] = node.children if isinstance(node, FakeDir) else {name: node}
    lines = [_long_line(child_name, child) for child_name, child in sorted(entries.items())]
    return "".join(lines).encode()


def list_names(node: Node, name: str) -> bytes:
    """`NLST` output: one name per line."""
    names = sorted(node.children) if isinstance(node, FakeDir) else [name]
    return "".join(f"{n}\r\n" for n in names).encode()


def _long_line(name: str, node: Node) -> str:
    if isinstance(node, FakeDir):
        return f"drwxr-xr-x    2 0        0            4096 {_STAMP} {name}\r\n"
    mode = "-rw-r--r--" if node.content is not None else "-rw-------"
    return f"{mode}    1 0        0        {node.size:>8} {_STAMP} {name}\r\n"
