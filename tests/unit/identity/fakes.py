"""Fakes of the identity ports (each passes its port's contract suite in `tests/contract/`)."""

from __future__ import annotations

from uuid import uuid4

from application.ports import UserRecord


class FakeHasher:
    """A reversible, unsalted stand-in for argon2 that counts its work."""

    def __init__(self) -> None:
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return "fake$" + password[::-1]

    def verify(self, encoded: str, password: str) -> bool:
        self.verified += 1
        return encoded == "fake$" + password[::-1]


class MemoryUserDirectory:
    """A `UserDirectory` over a dict, as the users read model would answer."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.revoked: set[str] = set()
        self.pending: set[str] = set()  # users with events the model has not applied yet

    def add(self, username: str, password: str, hasher: FakeHasher, **kw: object) -> UserRecord:
        record = UserRecord(
            uuid=str(uuid4()),
            username=username,
            role=str(kw.get("role", "viewer")),
            must_change_password=bool(kw.get("must_change_password", False)),
            password_hash=hasher.hash(password),
            tokens_valid_from=None,
        )
        self.users[record.uuid] = record
        return record

    async def by_username(self, username: str) -> UserRecord | None:
        same = [u for u in self.users.values() if u.username.casefold() == username.casefold()]
        return next((u for u in same if u.username == username), same[0] if same else None)

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        user = self.users.get(user_id)
        # As the read model: a deleted user's revocations go with its row.
        return user, user is not None and jti in self.revoked

    async def caught_up(self, user_id: str) -> bool:
        return user_id not in self.pending
