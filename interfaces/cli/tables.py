"""Plain-text tables for CLI output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, header: bool = True
) -> None:
    """Print `rows` as aligned columns (nested values as compact text)."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if header:
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
