"""Splitting a command line into pipelines joined by `;`, `&&`, `||`, with redirections."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_LINE = 8192  # a longer line is cut: no attacker input is parsed unbounded
_STDERR_REDIRECT = re.compile(r"(?<!\S)(?:[12]?>&[12]|2>>?\s*[^\s;&|]+|&>\s*[^\s;&|]+)")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+)|(\?))")
_CONNECTORS = frozenset({";", "&&", "||", "&"})
_REDIRECTS = frozenset({">", ">>", "<"})


class ParseError(Exception):
    """The line is not valid shell syntax (e.g. an unterminated quote)."""


@dataclass(slots=True)
class Simple:
    """One command with its arguments and file redirections."""

    argv: list[str] = field(default_factory=list)
    stdout_to: str | None = None
    append: bool = False
    stdin_from: str | None = None


@dataclass(slots=True)
class Step:
    """A pipeline and how it joins the previous one (`;`, `&&`, `||`)."""

    connector: str
    pipeline: list[Simple]


def expand(line: str, env: Mapping[str, str], last_status: int) -> str:
    """Substitute `$VAR`, `${VAR}` and `$?` outside single quotes."""

    def value(match: re.Match[str]) -> str:
        if match.group(3):
            return str(last_status)
        return env.get(match.group(1) or match.group(2), "")

    parts = line.split("'")
    # Even parts are outside single quotes (an unbalanced quote is reported by the parser).
    return "'".join(_VARIABLE.sub(value, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def parse(line: str) -> list[Step]:
    """The steps of a line, in order; empty commands are dropped."""
    tokens = _tokens(_STDERR_REDIRECT.sub(" ", line[:MAX_LINE]))
    steps: list[Step] = []
    connector = ";"
    pipeline = [Simple()]
    pending: str | None = None  # a redirection waiting for its file name
    for word in tokens:
        if pending is not None:
            _redirect(pipeline[-1], pending, word)
            pending = None
        elif word in _REDIRECTS:
            pending = word
        elif word == "|":
            pipeline.append(Simple())
        elif word in _CONNECTORS:
            _close(steps, connector, pipeline)
            connector = word if word in {"&&", "||"} else ";"
            pipeline = [Simple()]
        elif word not in {"(", ")"}:
            pipeline[-1].argv.append(word)
    if pending is not None:
        raise ParseError("syntax error near unexpected token `newline'")
    _close(steps, connector, pipeline)
    return steps


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # `#` inside URLs and arguments is common in attacker one-liners
    try:
        return list(lexer)
    except ValueError as exc:
        raise ParseError("unexpected EOF while looking for matching quote") from exc


def _redirect(command: Simple, operator: str, target: str) -> None:
    if operator == "<":
        command.stdin_from = target
    else:
        command.stdout_to, command.append = target, operator == ">>"


def _close(steps: list[Step], connector: str, pipeline: list[Simple]) -> None:
    commands = [c for c in pipeline if c.argv or c.stdout_to]
    if commands:
        steps.append(Step(connector, commands))
