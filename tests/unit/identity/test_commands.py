"""Identity handlers against the in-memory event store, with fakes for the ports (no mocks)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import anyio
import pytest

from application.errors import AuthenticationError, RateLimitedError
from application.fleet.settings import SettingsCommands
from application.identity.login import BAD_CREDENTIALS, Authenticator
from application.identity.login_events import LoginEvents
from application.identity.throttle import ThrottlePolicy
from application.identity.users import UserCommands, UserNotFoundError
from application.store import EventStoreApp
from domain.fleet.settings import SETTINGS_ID
from domain.identity.login import LoginAttempt
from domain.identity.roles import Role
from domain.identity.user import User, UsernameClaim, UsernameTakenError
from domain.shared.errors import ForbiddenError, InvalidError
from domain.shared.meta import SYSTEM, CommandMeta
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.auth.memory_denylist import MemoryTokenDenylist
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from tests.fakes import InterleavedStore
from tests.unit.identity.fakes import FakeHasher, MemoryUserDirectory

MEMORY_STORE = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "MAPPER_TOPIC": "infrastructure.eventstore.mapper:MsgspecMapper",
}
SECRET = "unit-test-secret-0123456789abcdefghij"
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


class RecordedSleeps:
    """A sleep that only remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> EventStoreApp:
    """A fresh in-memory event store with the production mapper."""
    return EventStoreApp(env=MEMORY_STORE)


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def users(store: EventStoreApp, hasher: FakeHasher) -> UserCommands:
    return UserCommands(store, hasher)


@pytest.fixture
def admin(users: UserCommands) -> CommandMeta:
    """The meta of commands issued by a registered admin."""
    user, _ = users.register(SYSTEM, "root", "root-password", Role.ADMIN, must_change=False)
    return CommandMeta(actor_id=user.id, client_ip="10.0.0.1", request_id="req-1")


def load(store: EventStoreApp, user_id: UUID) -> User:
    user: User = store.repository.get(user_id)
    return user


# --- UserCommands --------------------------------------------------------------------------------


def test_register_saves_user_and_claim_and_returns_the_head(
    store: EventStoreApp, users: UserCommands, hasher: FakeHasher
) -> None:
    """Registering stores the user (hashed password) and its claim; the position is the head."""
    user, position = users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    assert position == store.head() > 0
    stored = load(store, user.id)
    assert (stored.username, stored.role, stored.must_change_password) == (
        "alice",
        Role.VIEWER,
        True,
    )
    assert stored.password_hash == "fake$1-drowssap"
    assert users.exists("alice")
    assert not users.exists("bob")


def test_register_reports_each_new_position(store: EventStoreApp, users: UserCommands) -> None:
    """Each write returns a higher position, and save listeners hear it."""
    heard: list[int] = []
    store.on_saved(heard.append)
    _, first = users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    _, second = users.register(SYSTEM, "bob", "password-1", Role.VIEWER)
    assert 0 < first < second
    assert heard == [first, second]


def test_register_duplicate_username_conflicts(store: EventStoreApp, users: UserCommands) -> None:
    """A second live user with the same name raises UsernameTaken and writes nothing."""
    users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    head = store.head()
    with pytest.raises(UsernameTakenError):
        users.register(SYSTEM, "alice", "password-2", Role.ADMIN)
    assert store.head() == head


@pytest.mark.parametrize("other", ["ALICE", "Alice", "aLiCe"])
def test_usernames_differing_in_case_conflict(
    store: EventStoreApp, users: UserCommands, other: str
) -> None:
    """`alice` holds every casing of the name: registering `ALICE` is UsernameTaken."""
    users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    head = store.head()
    with pytest.raises(UsernameTakenError):
        users.register(SYSTEM, other, "password-2", Role.ADMIN)
    assert store.head() == head
    assert users.exists(other)


def test_an_older_exact_case_claim_still_holds_and_frees_its_name(
    store: EventStoreApp, users: UserCommands, admin: CommandMeta
) -> None:
    """Given `Alice` claimed under the exact spelling (before the rule), `Alice` is taken;
    deleting her releases that claim and the name can be registered again."""
    alice = User.register(SYSTEM, "Alice", "fake$x", Role.VIEWER, must_change=False)
    legacy = UsernameClaim._create(
        UsernameClaim.Claimed,
        id=UsernameClaim.legacy_id("Alice"),
        meta=SYSTEM,
        username="Alice",
        user_id=alice.id,
    )
    store.save_all(alice, legacy)
    with pytest.raises(UsernameTakenError):
        users.register(admin, "Alice", "password-2", Role.VIEWER)
    users.delete(admin, alice.id)
    released: UsernameClaim = store.repository.get(UsernameClaim.legacy_id("Alice"))
    assert released.user_id is None
    again, _ = users.register(admin, "Alice", "password-3", Role.VIEWER)
    assert users.exists("alice")
    assert users.exists("ALICE")
    assert store.repository.get(UsernameClaim.create_id("Alice")).user_id == again.id


@pytest.mark.parametrize(
    ("username", "password"),
    [("", "password-1"), ("bad name", "password-1"), ("u" * 65, "password-1"), ("ok", "short")],
)
def test_register_invalid_values(
    store: EventStoreApp, users: UserCommands, username: str, password: str
) -> None:
    """A bad username or password raises Invalid and writes nothing."""
    with pytest.raises(InvalidError):
        users.register(SYSTEM, username, password, Role.VIEWER)
    assert store.head() == 0


def test_deleted_username_can_be_registered_again(
    store: EventStoreApp, users: UserCommands, admin: CommandMeta
) -> None:
    """Deleting frees the name: a new user (new id) can take it, and it is taken again after."""
    first, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    users.delete(admin, first.id)
    assert not users.exists("alice")
    second, _ = users.register(admin, "alice", "password-2", Role.ADMIN)
    assert second.id != first.id
    claim: UsernameClaim = store.repository.get(UsernameClaim.create_id("alice"))
    assert claim.user_id == second.id
    with pytest.raises(UsernameTakenError):
        users.register(admin, "alice", "password-3", Role.VIEWER)


def test_change_password_requires_the_old_one(store: EventStoreApp, users: UserCommands) -> None:
    """A wrong old password raises AuthenticationFailed and writes nothing."""
    user, _ = users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    head = store.head()
    with pytest.raises(AuthenticationError):
        users.change_password(SYSTEM, user.id, "not-it-at-all", "password-2")
    assert store.head() == head


def test_change_password_rejects_a_short_new_one(store: EventStoreApp, users: UserCommands) -> None:
    """A new password under 8 characters raises Invalid and writes nothing."""
    user, _ = users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    head = store.head()
    with pytest.raises(InvalidError):
        users.change_password(SYSTEM, user.id, "password-1", "short")
    assert store.head() == head


def test_change_password_clears_must_change(store: EventStoreApp, users: UserCommands) -> None:
    """The right old password stores the new hash and clears must-change."""
    user, _ = users.register(SYSTEM, "alice", "password-1", Role.VIEWER)
    position = users.change_password(
        CommandMeta(actor_id=user.id), user.id, "password-1", "pw-two-2"
    )
    assert position == store.head()
    stored = load(store, user.id)
    assert stored.password_hash == "fake$2-owt-wp"
    assert stored.must_change_password is False
    assert stored.tokens_valid_from is not None


def test_reset_password_sets_must_change(
    store: EventStoreApp, users: UserCommands, admin: CommandMeta
) -> None:
    """An admin's reset stores the new hash and sets must-change."""
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER, must_change=False)
    users.reset_password(admin, user.id, "password-9")
    stored = load(store, user.id)
    assert (stored.password_hash, stored.must_change_password) == ("fake$9-drowssap", True)


def test_reset_password_rejects_a_short_one(users: UserCommands, admin: CommandMeta) -> None:
    """A reset password under 8 characters raises Invalid."""
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    with pytest.raises(InvalidError):
        users.reset_password(admin, user.id, "short")


def test_change_role(store: EventStoreApp, users: UserCommands, admin: CommandMeta) -> None:
    """An admin's role change is stored."""
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    users.change_role(admin, user.id, Role.ADMIN)
    assert load(store, user.id).role is Role.ADMIN


def test_admin_cannot_demote_or_delete_itself(users: UserCommands, admin: CommandMeta) -> None:
    """Self-protection reaches the handlers: own role change and self-deletion are Forbidden."""
    assert admin.actor_id is not None
    with pytest.raises(ForbiddenError):
        users.change_role(admin, admin.actor_id, Role.VIEWER)
    with pytest.raises(ForbiddenError):
        users.delete(admin, admin.actor_id)


def test_revoke_token_is_recorded(
    store: EventStoreApp, users: UserCommands, admin: CommandMeta
) -> None:
    """Logout appends TokenRevoked with the token id."""
    assert admin.actor_id is not None
    position = users.revoke_token(admin, admin.actor_id, "jti-1", EXPIRES)
    (note,) = store.read(position - 1, 10)
    event = store.mapper.to_domain_event(note)
    assert isinstance(event, User.TokenRevoked)
    assert (event.jti, event.expires_at) == ("jti-1", EXPIRES)


COMMANDS = {
    "change_password": lambda u, m, i: u.change_password(m, i, "password-1", "password-2"),
    "reset_password": lambda u, m, i: u.reset_password(m, i, "password-2"),
    "change_role": lambda u, m, i: u.change_role(m, i, Role.ADMIN),
    "delete": lambda u, m, i: u.delete(m, i),
    "revoke_token": lambda u, m, i: u.revoke_token(m, i, "jti-1", EXPIRES),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_commands_on_unknown_users_are_not_found(
    users: UserCommands, admin: CommandMeta, command: str
) -> None:
    """Every command on a uuid no user has raises UserNotFound."""
    with pytest.raises(UserNotFoundError):
        COMMANDS[command](users, admin, uuid4())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_commands_on_deleted_users_are_not_found(
    users: UserCommands, admin: CommandMeta, command: str
) -> None:
    """Every command on a deleted user raises UserNotFound."""
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    users.delete(admin, user.id)
    with pytest.raises(UserNotFoundError):
        COMMANDS[command](users, admin, user.id)


@pytest.mark.parametrize("target", ["settings", "username-claim"])
def test_ids_of_other_aggregates_are_not_users(
    users: UserCommands, settings: SettingsCommands, admin: CommandMeta, target: str
) -> None:
    """A uuid of the settings or of a username claim is UserNotFound, not a crash."""
    settings.set_deployment_limit(admin, 20)
    other = SETTINGS_ID if target == "settings" else UsernameClaim.create_id("root")
    with pytest.raises(UserNotFoundError):
        users.delete(admin, other)


RIVALS = {
    "change_password": lambda u, m, i: u.change_password(m, i, "password-1", "password-2"),
    "reset_password": lambda u, m, i: u.reset_password(m, i, "password-3"),
    "change_role": lambda u, m, i: u.change_role(m, i, Role.AUDITOR),
    "revoke_token": lambda u, m, i: u.revoke_token(m, i, "jti-rival", EXPIRES),
}


@pytest.mark.parametrize("rival", sorted(RIVALS))
@pytest.mark.parametrize("command", ["reset_password", "change_role", "revoke_token"])
def test_a_command_that_loses_the_race_is_decided_again(
    hasher: FakeHasher, admin: CommandMeta, command: str, rival: str
) -> None:
    """Another command on the same user saved first: this one is applied to what it left and
    saved after it, instead of failing on the version the other took (a 500 before)."""
    store = InterleavedStore(env=MEMORY_STORE)
    users = UserCommands(store, hasher)
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    store.interloper = lambda: RIVALS[rival](UserCommands(store, hasher), admin, user.id)
    position = COMMANDS[command](users, admin, user.id)
    assert position == store.head()
    assert load(store, user.id).version == 3  # registered, the rival's event, this one


def test_a_delete_that_loses_to_a_delete_is_not_found(
    hasher: FakeHasher, admin: CommandMeta
) -> None:
    """Two deletes of one user at once: one deletes it, the other finds no such user (404)."""
    store = InterleavedStore(env=MEMORY_STORE)
    users = UserCommands(store, hasher)
    user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
    store.interloper = lambda: UserCommands(store, hasher).delete(admin, user.id)
    with pytest.raises(UserNotFoundError):
        users.delete(admin, user.id)
    assert load(store, user.id).deleted


# --- SettingsCommands ----------------------------------------------------------------------------


@pytest.fixture
def settings(store: EventStoreApp) -> SettingsCommands:
    return SettingsCommands(store)


def test_settings_default_without_writing(store: EventStoreApp, settings: SettingsCommands) -> None:
    """Reading the settings before any change gives the defaults and writes nothing."""
    current = settings.current()
    assert (current.deployment_limit, current.global_mutation_interval_minutes) == (10, 30)
    assert store.head() == 0


def test_settings_changes_are_stored(store: EventStoreApp, settings: SettingsCommands) -> None:
    """Setting the limit then the interval stores both; each returns the new head."""
    first = settings.set_deployment_limit(SYSTEM, 42)
    second = settings.set_global_mutation_interval(SYSTEM, 1440)
    assert 0 < first < second == store.head()
    current = settings.current()
    assert (current.deployment_limit, current.global_mutation_interval_minutes) == (42, 1440)


@pytest.mark.parametrize("first", [True, False], ids=["first-ever", "later"])
def test_a_settings_change_that_loses_the_race_is_decided_again(first: bool) -> None:
    """Two settings changes at once (even the very first two): both are stored, in order."""
    store = InterleavedStore(env=MEMORY_STORE)
    if not first:
        SettingsCommands(store).set_deployment_limit(SYSTEM, 5)
    store.interloper = lambda: SettingsCommands(store).set_global_mutation_interval(SYSTEM, 60)
    assert SettingsCommands(store).set_deployment_limit(SYSTEM, 42) == store.head()
    current = SettingsCommands(store).current()
    assert (current.deployment_limit, current.global_mutation_interval_minutes) == (42, 60)


@pytest.mark.parametrize("limit", [0, 501])
def test_settings_reject_out_of_range_limits(
    store: EventStoreApp, settings: SettingsCommands, limit: int
) -> None:
    """A limit outside 1..500 raises Invalid and writes nothing."""
    with pytest.raises(InvalidError):
        settings.set_deployment_limit(SYSTEM, limit)
    assert store.head() == 0


def test_settings_reject_a_zero_interval(store: EventStoreApp, settings: SettingsCommands) -> None:
    """An interval under one minute raises Invalid and writes nothing."""
    settings.set_deployment_limit(SYSTEM, 3)
    head = store.head()
    with pytest.raises(InvalidError):
        settings.set_global_mutation_interval(SYSTEM, 0)
    assert store.head() == head


# --- Authenticator -------------------------------------------------------------------------------


@pytest.fixture
def directory() -> MemoryUserDirectory:
    return MemoryUserDirectory()


@pytest.fixture
def clock() -> FakeClock:
    # PyJWT checks expiry against the real time, so the fake clock starts there.
    return FakeClock(now=time.time())


@pytest.fixture
def tokens(clock: FakeClock) -> JwtTokens:
    return JwtTokens(lambda: SECRET, ttl_s=900, clock=clock)


@pytest.fixture
def auth(directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens) -> Authenticator:
    return Authenticator(
        directory,
        hasher,
        tokens,
        MemoryLoginThrottle(),
        MemoryTokenDenylist(),
        sleep=RecordedSleeps(),
    )


@pytest.mark.anyio
async def test_login_issues_a_token_for_the_user(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens
) -> None:
    """Right credentials give a token whose claims name the user, and the must-change flag."""
    alice = directory.add("alice", "password-1", hasher, must_change_password=True)
    result = await auth.login("alice", "password-1", "10.0.0.1")
    assert result.must_change_password is True
    claims = tokens.verify(result.access_token)
    assert (claims.user_id, claims.username) == (alice.uuid, "alice")


@pytest.mark.anyio
async def test_login_failures_look_alike_and_cost_alike(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher
) -> None:
    """Unknown user and wrong password fail with one message, each after one hash verification."""
    directory.add("alice", "password-1", hasher)
    messages = []
    for username, password in (("nobody", "password-1"), ("alice", "wrong-pass")):
        before = hasher.verified
        with pytest.raises(AuthenticationError) as failed:
            await auth.login(username, password, "10.0.0.1")
        assert hasher.verified == before + 1
        messages.append(str(failed.value))
    assert messages == [BAD_CREDENTIALS, BAD_CREDENTIALS]


@pytest.mark.anyio
async def test_login_is_throttled_after_ten_failures(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher
) -> None:
    """After ten failures from one IP even the right password from that IP is RateLimited."""
    directory.add("alice", "password-1", hasher)
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            await auth.login("alice", "wrong-pass", "10.0.0.1")
    with pytest.raises(RateLimitedError):
        await auth.login("alice", "password-1", "10.0.0.1")


@pytest.mark.anyio
async def test_authenticate_returns_the_principal(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher
) -> None:
    """A valid token of a live user authenticates as that user with its current role."""
    alice = directory.add("alice", "password-1", hasher, role="admin")
    token = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    principal = await auth.authenticate(token)
    assert (principal.user_id, principal.username, principal.is_admin) == (
        alice.uuid,
        "alice",
        True,
    )


@pytest.mark.anyio
async def test_authenticate_refuses_revoked_tokens(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher
) -> None:
    """A token whose jti was revoked is refused."""
    directory.add("alice", "password-1", hasher)
    token = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    directory.revoked.add((await auth.authenticate(token)).claims.jti)
    with pytest.raises(AuthenticationError):
        await auth.authenticate(token)


@pytest.mark.anyio
async def test_authenticate_refuses_deleted_users(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher
) -> None:
    """A token of a user no longer in the directory is refused."""
    alice = directory.add("alice", "password-1", hasher)
    token = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    del directory.users[alice.uuid]
    with pytest.raises(AuthenticationError):
        await auth.authenticate(token)


@pytest.mark.anyio
async def test_authenticate_honours_the_token_cut_off(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher, clock: FakeClock
) -> None:
    """Tokens issued before tokens_valid_from are refused; ones issued after it work."""
    alice = directory.add("alice", "password-1", hasher)
    old = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    clock.now += 5
    directory.users[alice.uuid] = replace(alice, tokens_valid_from=clock.now)
    clock.now += 1
    new = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    with pytest.raises(AuthenticationError):
        await auth.authenticate(old)
    assert (await auth.authenticate(new)).user_id == alice.uuid


@pytest.mark.anyio
async def test_authenticate_refuses_expired_and_foreign_tokens(
    auth: Authenticator, directory: MemoryUserDirectory, hasher: FakeHasher, clock: FakeClock
) -> None:
    """Expired (beyond the leeway), foreign-secret and garbage tokens are refused."""
    directory.add("alice", "password-1", hasher)
    token = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    foreign, _ = JwtTokens(lambda: "another-secret-0123456789abcdefghij", clock=clock).issue(
        next(iter(directory.users)), "alice"
    )
    for bad in (foreign, "garbage", token + "x"):
        with pytest.raises(AuthenticationError):
            await auth.authenticate(bad)
    expired = (await auth.login("alice", "password-1", "10.0.0.1")).access_token
    clock.now += 900 + 11  # past the lifetime and the 10 s leeway, on the issuer's clock
    with pytest.raises(AuthenticationError, match="expired"):
        await auth.authenticate(expired)


# --- login throttling ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_burst_of_wrong_guesses_gets_ten_verifications(
    directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens
) -> None:
    """Sixty concurrent guesses from one IP: ten verified (401), fifty refused (429)."""
    auth = Authenticator(directory, hasher, tokens, MemoryLoginThrottle(), MemoryTokenDenylist())
    directory.add("alice", "password-1", hasher)
    outcomes: list[str] = []

    async def guess() -> None:
        try:
            await auth.login("alice", "wrong-guess", "10.0.0.1")
        except AuthenticationError:
            outcomes.append("401")
        except RateLimitedError:
            outcomes.append("429")

    async with anyio.create_task_group() as tg:
        for _ in range(60):
            tg.start_soon(guess)
    assert (outcomes.count("401"), outcomes.count("429")) == (10, 50)


@pytest.mark.anyio
async def test_failures_for_a_username_slow_it_down_but_never_refuse_it(
    directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens
) -> None:
    """Ten failures from ten IPs: the right password from an eleventh IP logs in, after a wait."""
    sleeps = RecordedSleeps()
    auth = Authenticator(
        directory, hasher, tokens, MemoryLoginThrottle(), MemoryTokenDenylist(), sleep=sleeps
    )
    directory.add("alice", "password-1", hasher)
    for i in range(10):
        with pytest.raises(AuthenticationError):
            await auth.login("alice", "wrong", f"10.0.0.{i}")
    result = await auth.login("alice", "password-1", "10.9.9.9")
    assert result.access_token
    assert sleeps.waits == [0.5, 1.0, 2.0, 4.0, 5.0, ThrottlePolicy().max_delay_s]


@pytest.mark.anyio
async def test_a_success_does_not_use_up_the_address(
    directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens
) -> None:
    """Twenty logins in a row from one IP succeed: only failures and attempts in flight count."""
    auth = Authenticator(directory, hasher, tokens, MemoryLoginThrottle(), MemoryTokenDenylist())
    directory.add("alice", "password-1", hasher)
    for _ in range(20):
        await auth.login("alice", "password-1", "10.0.0.1")


@pytest.mark.anyio
async def test_each_admitted_attempt_is_journaled_without_secrets(
    store: EventStoreApp, directory: MemoryUserDirectory, hasher: FakeHasher, tokens: JwtTokens
) -> None:
    """A failure records the name tried, a success the user as actor; a refused (429) attempt
    records nothing, and no event holds the password."""
    auth = Authenticator(
        directory, hasher, tokens, MemoryLoginThrottle(), MemoryTokenDenylist(),
        sleep=RecordedSleeps(), journal=LoginEvents(store),
    )  # fmt: skip
    alice = directory.add("alice", "password-1", hasher)
    with pytest.raises(AuthenticationError):
        await auth.login("ALICE", "guess-1", "10.0.0.1", "req-1")
    await auth.login("alice", "password-1", "10.0.0.1", "req-2")
    for _ in range(9):
        with pytest.raises(AuthenticationError):
            await auth.login("mallory", "guess-2", "10.0.0.1")
    with pytest.raises(RateLimitedError):
        await auth.login("mallory", "guess-3", "10.0.0.1")
    events = store.read(0, 100)
    assert len(events) == 11
    first, second = (store.mapper.to_domain_event(n) for n in events[:2])
    assert isinstance(first, LoginAttempt.Failed)
    assert (first.username, first.meta.actor_id, first.meta.request_id) == ("ALICE", None, "req-1")
    assert isinstance(second, LoginAttempt.Succeeded)
    assert second.meta.actor_id == UUID(alice.uuid)
    assert (second.username, second.meta.client_ip) == ("alice", "10.0.0.1")
    assert not any(b"guess" in n.state or b"password-1" in n.state for n in events)
