"""File commands over the fake filesystem: ls, cd, pwd, cat, mkdir, touch, rm, cp, mv, chmod."""

from __future__ import annotations

import posixpath

from infrastructure.emulators.shell.fs import FsError, Node
from infrastructure.emulators.shell.state import (
    Command,
    Outcome,
    ShellState,
    fs_error,
    split_flags,
)


def ls(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`ls [-la1] [paths]`."""
    flags, targets = split_flags(args)
    out: list[str] = []
    status = 0
    for target in targets or ["."]:
        path = sh.path(target)
        try:
            out.append(_listing(sh, path, target, flags, len(targets) > 1))
        except FsError as exc:
            out.append(f"ls: cannot access '{target}': {exc}\n")
            status = 2
    return Outcome("".join(out), status)


def _listing(sh: ShellState, path: str, label: str, flags: set[str], header: bool) -> str:
    node = sh.fs.get(path)
    if node is None:
        raise FsError("ENOENT")
    if node.kind == "file":
        return (_long_line(label, node) if "l" in flags else label) + "\n"
    names = sh.fs.listdir(path)
    if not {"a", "A"} & flags:
        names = [n for n in names if not n.startswith(".")]
    entries = [(n, sh.fs.get(posixpath.join(path, n))) for n in names]
    if "a" in flags:
        entries = [(".", node), ("..", sh.fs.get(posixpath.dirname(path))), *entries]
    if "l" in flags:
        total = sum((e.size + 1023) // 1024 for _, e in entries if e)
        lines = [f"total {total}"] + [_long_line(n, e) for n, e in entries if e]
        body = "\n".join(lines) + "\n"
    else:
        body = "  ".join(n for n, _ in entries) + ("\n" if entries else "")
    return f"{label}:\n{body}" if header else body


def _long_line(name: str, node: Node) -> str:
    kind = "d" if node.kind == "dir" else "-"
    bits = "".join(
        flag if node.mode & (1 << (8 - i)) else "-" for i, flag in enumerate("rwxrwxrwx")
    )
    if node.mode & 0o1000:
        bits = bits[:-1] + "t"
    links = 2 if node.kind == "dir" else 1
    stamp = node.mtime.strftime("%b %d %H:%M")
    return f"{kind}{bits} {links} {node.owner:<8} {node.owner:<8} {node.size:>7} {stamp} {name}"


def cd(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`cd [dir]`; `cd -` returns to the previous directory."""
    target = args[0] if args else sh.home
    if target == "-":
        target = sh.env.get("OLDPWD", sh.cwd)
    path = sh.path(target)
    node = sh.fs.get(path)
    if node is None or node.kind != "dir":
        reason = "No such file or directory" if node is None else "Not a directory"
        return Outcome(f"{sh.label}: cd: {target}: {reason}\n", 1)
    try:
        sh.fs.listdir(path)
    except FsError as exc:
        return Outcome(f"{sh.label}: cd: {target}: {exc}\n", 1)
    sh.env["OLDPWD"], sh.cwd = sh.cwd, path
    sh.env["PWD"] = path
    return Outcome()


def pwd(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`pwd`."""
    return Outcome(sh.cwd + "\n")


def cat(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`cat [files]` (stdin without operands)."""
    _, files = split_flags(args)
    if not files:
        return Outcome(stdin)
    out: list[str] = []
    status = 0
    for name in files:
        try:
            out.append(sh.fs.read(sh.path(name)))
        except FsError as exc:
            out.append(fs_error("cat", name, exc))
            status = 1
    return Outcome("".join(out), status)


def mkdir(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`mkdir [-p] dirs`."""
    flags, names = split_flags(args)
    if not names:
        return Outcome("mkdir: missing operand\n", 1)
    for name in names:
        path = sh.path(name)
        parents = _ancestors(path) if "p" in flags else [path]
        for each in parents:
            node = sh.fs.get(each)
            if node is not None and ("p" in flags or each != path):
                continue
            try:
                sh.fs.mkdir(each)
            except FsError as exc:
                return Outcome(f"mkdir: cannot create directory '{name}': {exc}\n", 1)
    return Outcome()


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def touch(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`touch files`."""
    _, names = split_flags(args)
    for name in names:
        path = sh.path(name)
        if sh.fs.get(path) is None:
            try:
                sh.fs.write(path, "")
            except FsError as exc:
                return Outcome(f"touch: cannot touch '{name}': {exc}\n", 1)
    return Outcome()


def rm(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`rm [-rf] paths`."""
    flags, names = split_flags(args)
    for name in names:
        path = sh.path(name)
        node = sh.fs.get(path)
        if node is not None and node.kind == "dir" and not {"r", "R"} & flags:
            return Outcome(f"rm: cannot remove '{name}': Is a directory\n", 1)
        try:
            _remove_tree(sh, path)
        except FsError as exc:
            if "f" not in flags or exc.code != "ENOENT":
                return Outcome(f"rm: cannot remove '{name}': {exc}\n", 1)
    return Outcome()


def _remove_tree(sh: ShellState, path: str) -> None:
    node = sh.fs.get(path)
    if node is not None and node.kind == "dir":
        for child in sh.fs.listdir(path):
            _remove_tree(sh, posixpath.join(path, child))
    sh.fs.remove(path)


def cp(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`cp src dst` for files."""
    return _copy(sh, args, "cp", move=False)


def mv(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`mv src dst` for files."""
    return _copy(sh, args, "mv", move=True)


def _copy(sh: ShellState, args: list[str], name: str, *, move: bool) -> Outcome:
    _, operands = split_flags(args)
    if len(operands) != 2:
        return Outcome(f"{name}: missing file operand\n", 1)
    source, target = (sh.path(o) for o in operands)
    node = sh.fs.get(target)
    if node is not None and node.kind == "dir":
        target = posixpath.join(target, posixpath.basename(source))
    try:
        sh.fs.write(target, sh.fs.read(source))
        if move:
            sh.fs.remove(source)
    except FsError as exc:
        return Outcome(fs_error(name, operands[0], exc), 1)
    return Outcome()


def chmod(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`chmod mode files`: checks the files exist; modes are not tracked."""
    _, operands = split_flags(args)
    for name in operands[1:]:
        if sh.fs.get(sh.path(name)) is None:
            return Outcome(f"chmod: cannot access '{name}': No such file or directory\n", 1)
    return Outcome()


COMMANDS: dict[str, Command] = {
    "cat": cat,
    "ls": ls,
    "cd": cd,
    "pwd": pwd,
    "mkdir": mkdir,
    "touch": touch,
    "rm": rm,
    "cp": cp,
    "mv": mv,
    "chmod": chmod,
    "chown": chmod,
}
