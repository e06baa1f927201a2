"""A small p0f-style table: OS family from initial TTL, SYN window and TCP option order.

Basis: the SYN signatures of p0f v3's `p0f.fp` (Michal Zalewski), reduced to the traits that
separate families and are stable across versions; MSS and window scale vary with the link and
tuning, so they are not matched. Anything unmatched is `unknown`, and the attacker profile then
falls back to its TTL rule (SPEC §6).
"""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OsSignature:
    """One family's SYN traits; `windows` None means any window."""

    os: str
    initial_ttl: int
    options: frozenset[str]
    windows: frozenset[int] | None = None
    note: str = ""


SIGNATURES: tuple[OsSignature, ...] = (
    OsSignature(
        "linux",
        64,
        frozenset({"M,S,T,N,W", "M,N,N,S,N,W", "M,S,N,W", "M,N,N,T,N,W"}),
        note="Linux 2.6+/Android: SACK before timestamps, window scale last",
    ),
    OsSignature(
        "macos",
        64,
        frozenset({"M,N,W,N,N,T,S,E", "M,N,W,N,N,T,S"}),
        frozenset({65535}),
        note="macOS/iOS: timestamps before SACK, EOL padding",
    ),
    OsSignature("bsd", 64, frozenset({"M,N,W,S,T"}), frozenset({65535}), note="FreeBSD 9+"),
    OsSignature("bsd", 64, frozenset({"M,N,N,S,N,W,N,N,T"}), frozenset({16384}), note="OpenBSD"),
    OsSignature(
        "windows",
        128,
        frozenset({"M,N,W,N,N,S", "M,N,N,S", "M,N,W,N,N,T,S", "M,N,W,S,T"}),
        note="Windows XP to 11 and Server",
    ),
)

# Raw-socket scanners (nmap -sS, masscan, zmap) craft SYNs with at most an MSS and a small
# fixed window; such a SYN describes the tool, not the attacker's OS.
_SCANNER_WINDOWS = frozenset({1024, 2048, 3072, 4096})
# Network gear, printers and many RTOS stacks start at 255; 32 is rare outside small stacks.
_EMBEDDED_TTLS = frozenset({32, 255})


def guess_os(initial_ttl: int | None, window: int, options: str) -> str:
    """`linux`, `windows`, `macos`, `bsd`, `embedded` or `unknown`."""
    if options in ("", "M") and window in _SCANNER_WINDOWS:
        return UNKNOWN
    for sig in SIGNATURES:
        window_ok = sig.windows is None or window in sig.windows
        if sig.initial_ttl == initial_ttl and options in sig.options and window_ok:
            return sig.os
    return "embedded" if initial_ttl in _EMBEDDED_TTLS else UNKNOWN
