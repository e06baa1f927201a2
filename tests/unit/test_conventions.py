"""Code conventions that a linter does not check (docs/conventions.md), checked over the tree."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "infrastructure", "projections", "interfaces")
LEVELS = {"debug", "info", "warning", "error", "exception", "critical", "msg"}
EVENT_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def nodes() -> Iterator[tuple[Path, ast.AST]]:
    """Every syntax node of the production packages, with its file."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                yield path, node


def log_calls() -> Iterator[tuple[str, str]]:
    """(where, event name) of every `<logger>.<level>("literal", ...)` call in the packages."""
    for path, node in nodes():
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LEVELS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        yield f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value


def test_log_event_names_are_snake_case() -> None:
    """Every structlog event is one snake_case name (`projection_failed`), never a dotted one."""
    calls = list(log_calls())
    assert len(calls) > 50, "the scan found the log calls"
    wrong = [f"{where} {name!r}" for where, name in calls if not EVENT_NAME.fullmatch(name)]
    assert wrong == []


def test_no_exception_is_suppressed_wholesale() -> None:
    """`suppress(Exception)` hides bugs: broad handlers log (ruff S110 covers `except: pass`)."""
    broad = {"Exception", "BaseException"}
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, node in nodes()
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) in {"suppress", "contextlib.suppress"}
        and any(ast.unparse(arg).rsplit(".", 1)[-1] in broad for arg in node.args)
    ]
    assert wrong == []
