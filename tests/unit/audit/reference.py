"""A naive RFC 6962 §2.1 reference: the recursive definitions of MTH, PATH and PROOF, verbatim."""

from __future__ import annotations

from functools import cache
from hashlib import sha256


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """MTH, PATH and PROOF over a fixed list of leaf inputs (memoised on leaf ranges)."""

    def __init__(self, data: list[bytes]) -> None:
        self.data = data
        self.mth = cache(self._mth)

    def _mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return sha256(b"").digest()
        if n == 1:
            return sha256(b"\x00" + self.data[start]).digest()
        k = _k(n)
        return sha256(b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)).digest()

    def root(self, size: int) -> bytes:
        return self.mth(0, size)

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _k(n)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def proof(self, m: int, size: int) -> list[bytes]:
        return self._subproof(m, 0, size, True)

    def _subproof(self, m: int, start: int, end: int, b: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if b else [self.mth(start, end)]
        k = _k(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, b), self.mth(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.mth(start, start + k)]
