"""How counts read in the texts people see (audit details, reports)."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`n` and an English noun that takes `s` in the plural: `1 artifact`, `0 artifacts`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
