"""The User aggregate and the username claim that keeps usernames unique."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.identity.roles import Role
from domain.shared.errors import ConflictError, ForbiddenError, NotFoundError
from domain.shared.meta import CommandMeta

USERNAME_NAMESPACE = uuid5(NAMESPACE_URL, "https://decnet-es/usernames")


def username_key(username: str) -> str:
    """What makes two usernames the same: their case-folded spelling (`alice` is `ALICE`)."""
    return username.casefold()


class UserDeletedError(NotFoundError):
    """The user was deleted."""


class User(Aggregate):
    """A person who may log in; every change invalidates earlier tokens except revocations."""

    class Registered(Aggregate.Created):
        meta: CommandMeta
        username: str
        password_hash: str
        role: str
        must_change_password: bool

    class PasswordChanged(Aggregate.Event):
        meta: CommandMeta
        password_hash: str

        def apply(self, aggregate: User) -> None:
            aggregate.password_hash = self.password_hash
            aggregate.must_change_password = False
            aggregate.tokens_valid_from = self.timestamp

    class PasswordReset(Aggregate.Event):
        meta: CommandMeta
        password_hash: str

        def apply(self, aggregate: User) -> None:
            aggregate.password_hash = self.password_hash
            aggregate.must_change_password = True
            aggregate.tokens_valid_from = self.timestamp

    class RoleChanged(Aggregate.Event):
        meta: CommandMeta
        role: str

        def apply(self, aggregate: User) -> None:
            aggregate.role = Role(self.role)
            aggregate.tokens_valid_from = self.timestamp

    class Deleted(Aggregate.Event):
        meta: CommandMeta

        def apply(self, aggregate: User) -> None:
            aggregate.deleted = True
            aggregate.tokens_valid_from = self.timestamp

    class TokenRevoked(Aggregate.Event):
        meta: CommandMeta
        jti: str
        expires_at: datetime

        def apply(self, aggregate: User) -> None:
            pass  # revocations live in the users read model; the aggregate needs no state

    def __init__(
        self,
        meta: CommandMeta,
        username: str,
        password_hash: str,
        role: str,
        must_change_password: bool,
    ) -> None:
        self.username = username
        self.password_hash = password_hash
        self.role = Role(role)
        self.must_change_password = must_change_password
        self.deleted = False
        self.tokens_valid_from: datetime | None = None

    @classmethod
    def register(
        cls, meta: CommandMeta, username: str, password_hash: str, role: Role, must_change: bool
    ) -> User:
        """Create a user; the caller must also claim the username."""
        return cls._create(
            cls.Registered,
            meta=meta,
            username=username,
            password_hash=password_hash,
            role=role.value,
            must_change_password=must_change,
        )

    def _live(self) -> None:
        if self.deleted:
            raise UserDeletedError(f"user {self.id} not found")

    def change_password(self, meta: CommandMeta, password_hash: str) -> None:
        """The user chose a new password: clears must-change and ends older tokens."""
        self._live()
        self.trigger_event(self.PasswordChanged, meta=meta, password_hash=password_hash)

    def reset_password(self, meta: CommandMeta, password_hash: str) -> None:
        """An admin set the password: the user must change it; older tokens end."""
        self._live()
        self._not_self(meta, "reset your own password here; use change-password")
        self.trigger_event(self.PasswordReset, meta=meta, password_hash=password_hash)

    def change_role(self, meta: CommandMeta, role: Role) -> None:
        """An admin changed the role; never one's own."""
        self._live()
        self._not_self(meta, "change your own role")
        self.trigger_event(self.RoleChanged, meta=meta, role=role.value)

    def delete(self, meta: CommandMeta) -> None:
        """An admin removed the user; never oneself."""
        self._live()
        self._not_self(meta, "delete yourself")
        self.trigger_event(self.Deleted, meta=meta)

    def revoke_token(self, meta: CommandMeta, jti: str, expires_at: datetime) -> None:
        """Logout: this one token stops working."""
        self._live()
        self.trigger_event(self.TokenRevoked, meta=meta, jti=jti, expires_at=expires_at)

    def _not_self(self, meta: CommandMeta, what: str) -> None:
        if meta.actor_id == self.id:
            raise ForbiddenError(f"you cannot {what}")


class UsernameTakenError(ConflictError):
    """Another live user has this username."""


class UsernameClaim(Aggregate):
    """Reserves one username for one live user (id derived from the username)."""

    class Claimed(Aggregate.Created):
        meta: CommandMeta
        username: str
        user_id: UUID

    class Released(Aggregate.Event):
        meta: CommandMeta

        def apply(self, aggregate: UsernameClaim) -> None:
            aggregate.user_id = None

    class Reclaimed(Aggregate.Event):
        meta: CommandMeta
        user_id: UUID

        def apply(self, aggregate: UsernameClaim) -> None:
            aggregate.user_id = self.user_id

    def __init__(self, meta: CommandMeta, username: str, user_id: UUID) -> None:
        self.username = username
        self.user_id: UUID | None = user_id

    @staticmethod
    def create_id(username: str) -> UUID:
        """One claim per case-folded username, so `alice` and `ALICE` collide in the store.

        Claims stored before usernames were case-insensitive have the id of the exact spelling
        (`legacy_id`); for a lower-case name, the common case, both ids are the same.
        """
        return uuid5(USERNAME_NAMESPACE, username_key(username))

    @staticmethod
    def legacy_id(username: str) -> UUID:
        """The id an older claim of exactly this spelling was stored under."""
        return uuid5(USERNAME_NAMESPACE, username)

    @classmethod
    def claim(cls, meta: CommandMeta, username: str, user_id: UUID) -> UsernameClaim:
        """A new claim for a username never used before."""
        return cls._create(cls.Claimed, meta=meta, username=username, user_id=user_id)

    def reclaim(self, meta: CommandMeta, user_id: UUID) -> None:
        """Take over a username whose user was deleted."""
        if self.user_id is not None:
            raise UsernameTakenError(f"username {self.username!r} already exists")
        self.trigger_event(self.Reclaimed, meta=meta, user_id=user_id)

    def release(self, meta: CommandMeta) -> None:
        """The user holding the name was deleted."""
        self.trigger_event(self.Released, meta=meta)
