"""Authentication outcomes as events: who logged in, and which name a failed attempt tried.

One aggregate per attempt, so concurrent logins never contend for a version. The events carry
no secret: never the password tried, never the token issued.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.shared.meta import CommandMeta

MAX_TRIED_NAME = 128  # a failed attempt may send any length; the trail keeps this much


class LoginAttempt(Aggregate):
    """The outcome of one `POST /auth/login` that the throttle admitted."""

    class Succeeded(Aggregate.Created):
        meta: CommandMeta  # actor = the user who logged in
        user_id: UUID
        username: str

    class Failed(Aggregate.Created):
        meta: CommandMeta  # no actor: nobody was authenticated
        username: str  # the name tried, as sent (cut to MAX_TRIED_NAME)

    def __init__(self, meta: CommandMeta, username: str, user_id: UUID | None = None) -> None:
        self.username = username
        self.user_id = user_id

    @classmethod
    def succeeded(cls, meta: CommandMeta, user_id: UUID, username: str) -> LoginAttempt:
        """A user proved their password and received a token."""
        return cls._create(cls.Succeeded, meta=meta, user_id=user_id, username=username)

    @classmethod
    def failed(cls, meta: CommandMeta, username: str) -> LoginAttempt:
        """An unknown name or a wrong password."""
        return cls._create(cls.Failed, meta=meta, username=username[:MAX_TRIED_NAME])
