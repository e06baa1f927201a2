"""Text commands used in attacker one-liners: echo, printf, grep, head, tail, wc, sort ...

Patterns are matched as plain substrings on purpose: compiling an attacker's regex would let
them burn our CPU with a catastrophic-backtracking pattern.
"""

from __future__ import annotations

import base64
import binascii
import re

from infrastructure.emulators.shell.fs import FsError
from infrastructure.emulators.shell.state import Command, Outcome, ShellState, fs_error

_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\\\": "\\", "\\r": "\r", "\\a": "\a", "\\e": "\x1b"}
_ESCAPE_RE = re.compile(r"\\[ntr\\ae]")
_AWK_PRINT = re.compile(r"^\{\s*print\s+(\$\d+(?:\s*,\s*\$\d+)*)\s*\}$")


def _unescape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def echo(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`echo [-ne] words`."""
    newline, escapes = True, False
    while args and args[0] in {"-n", "-e", "-ne", "-en", "-E"}:
        newline = newline and "n" not in args[0]
        escapes = escapes or "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    return Outcome((_unescape(text) if escapes else text) + ("\n" if newline else ""))


def printf(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`printf format args` (only %s and %d substitution)."""
    if not args:
        return Outcome("printf: usage: printf [-v var] format [arguments]\n", 2)
    values = iter(args[1:])
    text = re.sub(r"%[sd]", lambda _: next(values, ""), args[0])
    return Outcome(_unescape(text))


def _inputs(sh: ShellState, files: list[str], stdin: str, name: str) -> tuple[str, str, int]:
    """The concatenated text of `files` (or stdin), error messages, and the status."""
    if not files:
        return stdin, "", 0
    texts, errors = [], []
    for file in files:
        try:
            texts.append(sh.fs.read(sh.path(file)))
        except FsError as exc:
            errors.append(fs_error(name, file, exc))
    return "".join(texts), "".join(errors), 2 if errors else 0


def grep(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`grep [-ivcq] pattern [files]` (fixed-string match)."""
    flags = {c for a in args if a.startswith("-") for c in a[1:]}
    operands = [a for a in args if not a.startswith("-")]
    if not operands:
        return Outcome("Usage: grep [OPTION]... PATTERNS [FILE]...\n", 2)
    text, errors, status = _inputs(sh, operands[1:], stdin, "grep")
    needle = operands[0].lower() if "i" in flags else operands[0]
    hits = [
        line
        for line in text.splitlines()
        if ((needle in line.lower()) if "i" in flags else (needle in line)) != ("v" in flags)
    ]
    body = (
        ""
        if "q" in flags
        else f"{len(hits)}\n"
        if "c" in flags
        else "".join(f"{h}\n" for h in hits)
    )
    return Outcome(errors + body, status or (0 if hits else 1))


def _count(args: list[str], default: int = 10) -> tuple[int, list[str]]:
    count, rest, take = default, [], False
    for arg in args:
        if take:
            count, take = int(arg) if arg.isdigit() else default, False
        elif arg == "-n":
            take = True
        elif arg.startswith("-") and arg[1:].isdigit():
            count = int(arg[1:])
        else:
            rest.append(arg)
    return count, rest


def head(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`head [-n N] [files]`."""
    count, files = _count(args)
    text, errors, status = _inputs(sh, files, stdin, "head")
    return Outcome(errors + "".join(f"{x}\n" for x in text.splitlines()[:count]), status)


def tail(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`tail [-n N] [files]`."""
    count, files = _count(args)
    text, errors, status = _inputs(sh, files, stdin, "tail")
    lines = text.splitlines()[-count:] if count else []
    return Outcome(errors + "".join(f"{x}\n" for x in lines), status)


def wc(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`wc [-lwc] [files]`."""
    flags = {c for a in args if a.startswith("-") for c in a[1:]} or {"l", "w", "c"}
    files = [a for a in args if not a.startswith("-")]
    text, errors, status = _inputs(sh, files, stdin, "wc")
    counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
    numbers = [str(counts[k]) for k in "lwc" if k in flags]
    suffix = f" {files[0]}" if len(files) == 1 else ""
    return Outcome(errors + " ".join(numbers) + suffix + "\n", status)


def sort(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`sort [-ru] [files]`."""
    flags = {c for a in args if a.startswith("-") for c in a[1:]}
    text, errors, status = _inputs(sh, [a for a in args if not a.startswith("-")], stdin, "sort")
    lines = sorted(set(text.splitlines()) if "u" in flags else text.splitlines())
    if "r" in flags:
        lines.reverse()
    return Outcome(errors + "".join(f"{x}\n" for x in lines), status)


def uniq(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`uniq [-c]` on stdin."""
    runs: list[list[str | int]] = []
    for line in stdin.splitlines():
        if runs and runs[-1][0] == line:
            runs[-1][1] = int(runs[-1][1]) + 1
        else:
            runs.append([line, 1])
    if "-c" in args:
        return Outcome("".join(f"{n:7d} {line}\n" for line, n in runs))
    return Outcome("".join(f"{line}\n" for line, _ in runs))


def awk(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`awk [-F sep] '{print $N,...}'`; other programs pass the input through."""
    separator = None
    if args and args[0].startswith("-F"):
        separator, args = (args[0][2:] or (args[1] if len(args) > 1 else " ")), args[1:]
        if args and args[0] == separator:
            args = args[1:]
    match = _AWK_PRINT.match(args[0].strip()) if args else None
    if match is None:
        return Outcome(stdin)
    columns = [int(c.strip().lstrip("$")) for c in match.group(1).split(",")]
    out = []
    for line in stdin.splitlines():
        fields = line.split(separator) if separator else line.split()
        picked = [line if c == 0 else (fields[c - 1] if c <= len(fields) else "") for c in columns]
        out.append(" ".join(picked) + "\n")
    return Outcome("".join(out))


def b64(sh: ShellState, args: list[str], stdin: str) -> Outcome:
    """`base64 [-d]` on stdin."""
    if "-d" in args or "--decode" in args:
        try:
            return Outcome(base64.b64decode(stdin.strip()).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            return Outcome("base64: invalid input\n", 1)
    return Outcome(base64.b64encode(stdin.encode()).decode() + "\n")


COMMANDS: dict[str, Command] = {
    "echo": echo,
    "printf": printf,
    "grep": grep,
    "egrep": grep,
    "head": head,
    "tail": tail,
    "wc": wc,
    "sort": sort,
    "uniq": uniq,
    "awk": awk,
    "base64": b64,
}
