"""Commands on users: register, change/reset password, change role, delete, revoke a token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

from application.errors import AuthenticationError
from application.ports import PasswordHasher
from application.store import EventStoreApp, IntegrityError, Position
from domain.identity.roles import Role, check_password, check_username
from domain.identity.user import User, UsernameClaim, UsernameTakenError
from domain.shared.errors import NotFoundError
from domain.shared.meta import CommandMeta


class UserNotFoundError(NotFoundError):
    """No live user has that uuid."""


class UserCommands:
    """Handlers for the user commands; each returns the position it wrote."""

    def __init__(self, store: EventStoreApp, hasher: PasswordHasher) -> None:
        self._store = store
        self._hasher = hasher

    def register(
        self, meta: CommandMeta, username: str, password: str, role: Role, must_change: bool = True
    ) -> tuple[User, Position]:
        """Create a user holding a unique username (409 if taken)."""
        check_username(username)
        check_password(password)
        user = User.register(meta, username, self._hasher.hash(password), role, must_change)
        claim = self._claim(meta, username, user.id)
        try:
            return user, self._store.save_all(user, claim)
        except IntegrityError:
            # A concurrent registration of the same name won the race.
            raise UsernameTakenError(f"username {username!r} already exists") from None

    def change_password(self, meta: CommandMeta, user_id: UUID, old: str, new: str) -> Position:
        """The caller proves the old password and picks a new one."""
        hashed: list[str] = []  # hashed once, however often the change is decided

        def change(user: User) -> None:
            if not self._hasher.verify(user.password_hash, old):
                raise AuthenticationError("old password is incorrect")
            check_password(new)
            if not hashed:
                hashed.append(self._hasher.hash(new))
            user.change_password(meta, hashed[0])

        return self._change(user_id, change)

    def reset_password(self, meta: CommandMeta, user_id: UUID, new: str) -> Position:
        """An admin sets a password the user must change."""
        check_password(new)
        self._get(user_id)  # 404 before paying for the hash
        password_hash = self._hasher.hash(new)
        return self._change(user_id, lambda user: user.reset_password(meta, password_hash))

    def change_role(self, meta: CommandMeta, user_id: UUID, role: Role) -> Position:
        """An admin changes another user's role."""
        return self._change(user_id, lambda user: user.change_role(meta, role))

    def delete(self, meta: CommandMeta, user_id: UUID) -> Position:
        """An admin deletes another user and frees the username."""

        def decide() -> tuple[None, list[User | UsernameClaim]]:
            user = self._get(user_id)
            user.delete(meta)
            claim = self._find_claim(user.username)
            if claim is None or claim.user_id != user.id:
                return None, [user]  # nothing holds the name for this user
            claim.release(meta)
            return None, [user, claim]

        return self._store.save_decided(decide, "the user")[1]

    def revoke_token(
        self, meta: CommandMeta, user_id: UUID, jti: str, expires_at: datetime
    ) -> Position:
        """Logout: end one token before it expires."""
        return self._change(user_id, lambda user: user.revoke_token(meta, jti, expires_at))

    def _change(self, user_id: UUID, change: Callable[[User], None]) -> Position:
        """Apply `change` to the user as stored and save it, again on the user another command
        left when that one saved first (two admins, or a logout beside a reset)."""

        def decide() -> tuple[None, list[User]]:
            user = self._get(user_id)
            change(user)
            return None, [user]

        return self._store.save_decided(decide, "the user")[1]

    def exists(self, username: str) -> bool:
        """Whether a live user holds `username`."""
        claim = self._find_claim(username)
        return claim is not None and claim.user_id is not None

    def _claim(self, meta: CommandMeta, username: str, user_id: UUID) -> UsernameClaim:
        """Hold the name under its case-folded claim (409 if any claim on it is live)."""
        held = self._find_claim(username)
        if held is not None and held.user_id is not None:
            raise UsernameTakenError(f"username {username!r} already exists")
        claim_id = UsernameClaim.create_id(username)
        if claim_id not in self._store.repository:
            return UsernameClaim.claim(meta, username, user_id)
        claim: UsernameClaim = self._store.repository.get(claim_id)
        claim.reclaim(meta, user_id)
        return claim

    def _find_claim(self, username: str) -> UsernameClaim | None:
        """The claim on this name in any casing: the case-folded one, else an older exact one."""
        found: UsernameClaim | None = None
        for claim_id in (UsernameClaim.create_id(username), UsernameClaim.legacy_id(username)):
            if claim_id in self._store.repository:
                claim: UsernameClaim = self._store.repository.get(claim_id)
                if claim.user_id is not None:
                    return claim
                found = found or claim
        return found

    def _get(self, user_id: UUID) -> User:
        if user_id not in self._store.repository:
            raise UserNotFoundError(f"user {user_id} not found")
        user: User = self._store.repository.get(user_id)
        if not isinstance(user, User) or user.deleted:
            raise UserNotFoundError(f"user {user_id} not found")
        return user


def new_token_id() -> str:
    """A fresh JWT id."""
    return uuid4().hex
