"""What the users model says of a token's session, kept until that model next changes.

Every authenticated request asks the users model for the user and whether the token id was
revoked: a database round trip as costly as the request's own read. Its answer can only change
when the users model commits (a logout, a password or role change, a deleted user) or is swapped
for a rebuild, so a process that applies that model itself keeps the answers and forgets them all
on each such commit (ADR 0022). The denylist is still asked on every request.

A lookup that raced a commit must not bring the old answer back: `put` takes the generation read
before the lookup and keeps nothing if a commit came in between. `MAX_AGE_S` bounds how long any
answer is kept even so, and `MAX_ENTRIES` how many.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from application.ports import UserRecord

MAX_AGE_S = 5.0
MAX_ENTRIES = 4096
Session = tuple[UserRecord | None, bool]


@dataclass(frozen=True, slots=True)
class _Kept:
    session: Session
    at: float


class SessionCache:
    """Answers of `UserDirectory.session`, per (user id, token id), until `invalidate()`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kept: dict[tuple[str, str], _Kept] = {}
        self.generation = 0

    def get(self, user_id: str, jti: str) -> Session | None:
        """The kept answer, if it is younger than `MAX_AGE_S`."""
        kept = self._kept.get((user_id, jti))
        if kept is None or self._clock() - kept.at > MAX_AGE_S:
            return None
        return kept.session

    def put(self, user_id: str, jti: str, session: Session, generation: int) -> None:
        """Keep an answer looked up at `generation`, unless the model changed since."""
        if generation != self.generation:
            return
        if len(self._kept) >= MAX_ENTRIES:
            self._kept.clear()
        self._kept[(user_id, jti)] = _Kept(session, self._clock())

    def invalidate(self) -> None:
        """The users model changed: forget every answer, and any lookup still under way."""
        self.generation += 1
        self._kept.clear()
