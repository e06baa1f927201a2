"""User and UsernameClaim: given past events, when a command runs, then these events or an error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.identity.roles import Role, check_password, check_username, parse_role
from domain.identity.user import User, UsernameClaim, UsernameTakenError
from domain.shared.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from domain.shared.meta import CommandMeta

ADMIN = CommandMeta(actor_id=uuid4(), client_ip="10.0.0.1", request_id="req-1")
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def given(events: Sequence[Any]) -> Any:
    """The aggregate these past events describe."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def then(aggregate: Any) -> list[Any]:
    """The events the last command produced."""
    return list(aggregate.collect_events())


def registered(role: Role = Role.VIEWER, must_change: bool = True) -> list[Any]:
    """History of a freshly registered user."""
    return then(User.register(ADMIN, "alice", "hash-0", role, must_change))


def after(history: list[Any], command: Callable[[Any], None]) -> list[Any]:
    """History extended by one more command."""
    aggregate = given(history)
    command(aggregate)
    return history + then(aggregate)


def deleted() -> list[Any]:
    """History of a user an admin deleted."""
    return after(registered(), lambda user: user.delete(ADMIN))


def self_meta(history: list[Any]) -> CommandMeta:
    """The meta of a command the user issues about itself."""
    return CommandMeta(actor_id=history[0].originator_id)


# --- register ------------------------------------------------------------------------------------


def test_register_records_every_field() -> None:
    """Registering emits Registered with username, hash, role, must-change and who asked."""
    (event,) = registered(role=Role.ADMIN, must_change=False)
    assert isinstance(event, User.Registered)
    assert (event.username, event.password_hash, event.role) == ("alice", "hash-0", "admin")
    assert event.must_change_password is False
    assert event.meta == ADMIN


def test_registered_user_state() -> None:
    """A registered user is live, has its role, and no token cut-off yet."""
    user = given(registered())
    assert (user.username, user.role, user.must_change_password) == ("alice", Role.VIEWER, True)
    assert user.deleted is False
    assert user.tokens_valid_from is None


def test_each_registration_is_a_new_user() -> None:
    """Two registrations of one name are two aggregates (uniqueness is the claim's job)."""
    assert registered()[0].originator_id != registered()[0].originator_id


# --- passwords -----------------------------------------------------------------------------------


def test_change_password_clears_must_change_and_cuts_off_tokens() -> None:
    """Changing the password emits PasswordChanged, clears must-change, sets the token cut-off."""
    history = registered(must_change=True)
    user = given(history)
    user.change_password(self_meta(history), "hash-1")
    (event,) = then(user)
    assert isinstance(event, User.PasswordChanged)
    assert event.password_hash == "hash-1"
    assert (user.password_hash, user.must_change_password) == ("hash-1", False)
    assert user.tokens_valid_from == event.timestamp


def test_reset_password_sets_must_change_and_cuts_off_tokens() -> None:
    """An admin's reset emits PasswordReset, sets must-change and the token cut-off."""
    history = after(registered(), lambda u: u.change_password(ADMIN, "hash-1"))
    user = given(history)
    assert user.must_change_password is False
    user.reset_password(ADMIN, "hash-2")
    (event,) = then(user)
    assert isinstance(event, User.PasswordReset)
    assert (user.password_hash, user.must_change_password) == ("hash-2", True)
    assert user.tokens_valid_from == event.timestamp


def test_reset_own_password_is_forbidden() -> None:
    """A user cannot reset its own password (it must prove the old one instead)."""
    history = registered()
    user = given(history)
    with pytest.raises(ForbiddenError):
        user.reset_password(self_meta(history), "hash-2")
    assert then(user) == []


# --- roles ---------------------------------------------------------------------------------------


def test_change_role_records_the_new_role_and_cuts_off_tokens() -> None:
    """Changing the role emits RoleChanged; the role and token cut-off follow it."""
    user = given(registered())
    user.change_role(ADMIN, Role.ADMIN)
    (event,) = then(user)
    assert isinstance(event, User.RoleChanged)
    assert event.role == "admin"
    assert user.role is Role.ADMIN
    assert user.tokens_valid_from == event.timestamp


def test_change_own_role_is_forbidden() -> None:
    """A user cannot change its own role."""
    history = registered(role=Role.ADMIN)
    user = given(history)
    with pytest.raises(ForbiddenError):
        user.change_role(self_meta(history), Role.VIEWER)
    assert then(user) == []
    assert user.role is Role.ADMIN


# --- delete and revoke ---------------------------------------------------------------------------


def test_delete_marks_the_user_deleted() -> None:
    """Deleting emits Deleted; the user is gone and older tokens are cut off."""
    user = given(registered())
    user.delete(ADMIN)
    (event,) = then(user)
    assert isinstance(event, User.Deleted)
    assert user.deleted is True
    assert user.tokens_valid_from == event.timestamp


def test_delete_yourself_is_forbidden() -> None:
    """A user cannot delete itself."""
    history = registered()
    user = given(history)
    with pytest.raises(ForbiddenError):
        user.delete(self_meta(history))
    assert then(user) == []
    assert user.deleted is False


def test_revoke_token_records_one_token_only() -> None:
    """Logout emits TokenRevoked with the jti and expiry; other tokens are not cut off."""
    history = registered()
    user = given(history)
    user.revoke_token(self_meta(history), "jti-1", EXPIRES)
    (event,) = then(user)
    assert isinstance(event, User.TokenRevoked)
    assert (event.jti, event.expires_at) == ("jti-1", EXPIRES)
    assert user.tokens_valid_from is None


COMMANDS_ON_USER: dict[str, Callable[[Any], None]] = {
    "change_password": lambda u: u.change_password(ADMIN, "hash-9"),
    "reset_password": lambda u: u.reset_password(ADMIN, "hash-9"),
    "change_role": lambda u: u.change_role(ADMIN, Role.ADMIN),
    "delete": lambda u: u.delete(ADMIN),
    "revoke_token": lambda u: u.revoke_token(ADMIN, "jti-9", EXPIRES),
}


@pytest.mark.parametrize("command", sorted(COMMANDS_ON_USER))
def test_commands_on_a_deleted_user_are_not_found(command: str) -> None:
    """Every command on a deleted user raises NotFound and emits nothing."""
    user = given(deleted())
    with pytest.raises(NotFoundError):
        COMMANDS_ON_USER[command](user)
    assert then(user) == []


def test_replaying_a_history_rebuilds_the_same_state() -> None:
    """State rebuilt from the recorded events equals the state the commands left."""
    user = User.register(ADMIN, "alice", "hash-0", Role.VIEWER, True)
    user.change_password(ADMIN, "hash-1")
    user.change_role(ADMIN, Role.ADMIN)
    user.reset_password(ADMIN, "hash-2")
    user.revoke_token(ADMIN, "jti-1", EXPIRES)
    history = then(user)
    assert [type(e).__name__ for e in history] == [
        "Registered",
        "PasswordChanged",
        "RoleChanged",
        "PasswordReset",
        "TokenRevoked",
    ]
    assert vars(given(history)) == vars(user)


# --- username claims -----------------------------------------------------------------------------


def claimed(username: str = "alice") -> list[Any]:
    """History of a claim held by a live user."""
    return then(UsernameClaim.claim(ADMIN, username, uuid4()))


def test_claim_id_is_derived_from_the_username() -> None:
    """One claim id per case-folded username: any casing collides, another name does not."""
    assert UsernameClaim.create_id("alice") == UsernameClaim.create_id("alice")
    assert UsernameClaim.create_id("alice") == UsernameClaim.create_id("Alice")
    assert UsernameClaim.create_id("alice") != UsernameClaim.create_id("alicea")
    assert UsernameClaim.legacy_id("alice") == UsernameClaim.create_id("alice")  # unchanged
    assert UsernameClaim.legacy_id("Alice") != UsernameClaim.create_id("Alice")
    assert UsernameClaim.create_id("alice") != UsernameClaim.create_id("bob")


def test_claim_records_the_holder() -> None:
    """Claiming emits Claimed with the username and the user id, at the derived id."""
    holder = uuid4()
    claim = UsernameClaim.claim(ADMIN, "alice", holder)
    (event,) = then(claim)
    assert isinstance(event, UsernameClaim.Claimed)
    assert (event.username, event.user_id) == ("alice", holder)
    assert claim.id == UsernameClaim.create_id("alice")


def test_reclaiming_a_held_name_conflicts() -> None:
    """A name held by a live user cannot be taken over."""
    claim = given(claimed())
    with pytest.raises(UsernameTakenError) as raised:
        claim.reclaim(ADMIN, uuid4())
    assert isinstance(raised.value, ConflictError)
    assert then(claim) == []


def test_released_name_can_be_reclaimed() -> None:
    """After Released, reclaiming emits Reclaimed and the new user holds the name."""
    history = after(claimed(), lambda c: c.release(ADMIN))
    assert isinstance(history[-1], UsernameClaim.Released)
    claim = given(history)
    assert claim.user_id is None
    newcomer = uuid4()
    claim.reclaim(ADMIN, newcomer)
    (event,) = then(claim)
    assert isinstance(event, UsernameClaim.Reclaimed)
    assert claim.user_id == newcomer


def test_reclaimed_name_is_held_again() -> None:
    """Once reclaimed, the name conflicts again."""
    history = after(
        after(claimed(), lambda c: c.release(ADMIN)), lambda c: c.reclaim(ADMIN, uuid4())
    )
    with pytest.raises(UsernameTakenError):
        given(history).reclaim(ADMIN, uuid4())


# --- value rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "A" * 64, "x.y_z-9", "ADMIN"])
def test_valid_usernames_pass(name: str) -> None:
    """1..64 characters of A-Z, a-z, 0-9, '.', '_', '-' are accepted."""
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "tab\t", "ü", "a/b", "a@b", "a\n"])
def test_invalid_usernames_are_rejected(name: str) -> None:
    """Anything else is Invalid."""
    with pytest.raises(InvalidError):
        check_username(name)


@pytest.mark.parametrize(
    ("password", "ok"), [("x" * 7, False), ("x" * 8, True), ("x" * 128, True), ("x" * 129, False)]
)
def test_password_length_bounds(password: str, ok: bool) -> None:
    """Passwords must be 8..128 characters."""
    if ok:
        assert check_password(password) == password
    else:
        with pytest.raises(InvalidError):
            check_password(password)


def test_roles_parse_exactly() -> None:
    """admin and viewer parse; any other spelling is Invalid."""
    assert parse_role("admin") is Role.ADMIN
    assert parse_role("viewer") is Role.VIEWER
    for bad in ("Admin", "root", ""):
        with pytest.raises(InvalidError):
            parse_role(bad)
