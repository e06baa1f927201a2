"""Ports: the protocols the outer layers implement for the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from application.reads.rows import LogRow, ProjectionStatus
from domain.fleet.decky import DeckySpec
from domain.observations.records import InteractionRecord

RuntimeState = Literal["pending", "running", "failed", "stopped"]
HealthState = Literal["ok", "failing", "disabled"]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """How one component is doing, as `/health` reports it."""

    status: HealthState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RuntimeReport:
    """What a runtime says about one decky after acting on it."""

    status: RuntimeState
    detail: str = ""
    ports: dict[str, int] = field(default_factory=dict)


class RecordSink(Protocol):
    """Where emulators and the collector hand interaction records for ingestion."""

    async def submit(self, record: InteractionRecord) -> None:
        """Accept one record; may wait (back-pressure) but never drops silently."""
        ...


class DeckyRuntime(Protocol):
    """Drives real decoy hosts to the state the fleet's events describe.

    Every method is idempotent: applying the same spec twice leaves one decky running
    exactly `spec.services`; removing an unknown decky is a no-op.
    """

    name: str

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        """Make the decky exist with exactly `spec.services` running; report the outcome."""
        ...

    async def remove(self, name: str) -> None:
        """Stop and delete everything the runtime holds for this decky."""
        ...

    async def report(self, name: str) -> RuntimeReport:
        """Current state of one decky (`stopped` when the runtime holds nothing for it)."""
        ...

    async def health(self) -> ComponentHealth:
        """Whether the runtime can act at all (engine reachable, addresses usable)."""
        ...

    async def close(self) -> None:
        """Release this process's hold on the deckies.

        The local runtime stops its listeners (they live in this process); the Docker runtime
        leaves its containers running, so a control-plane restart does not take the fleet down.
        """
        ...


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id in production)."""

    def hash(self, password: str) -> str:
        """Return an encoded hash of `password`."""
        ...

    def verify(self, encoded: str, password: str) -> bool:
        """True when `password` matches `encoded`; never raises for a mismatch."""
        ...


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified access token says (times are Unix seconds, fractional)."""

    user_id: str
    username: str
    jti: str
    issued_at: float
    expires_at: float


class TokenIssuer(Protocol):
    """Signs and verifies short-lived access tokens."""

    def issue(self, user_id: str, username: str) -> tuple[str, TokenClaims]:
        """A new signed token and its claims."""
        ...

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; raises `AuthenticationFailed` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A live user as the users read model holds it."""

    uuid: str
    username: str
    role: str
    must_change_password: bool
    password_hash: str
    tokens_valid_from: float | None


class UserDirectory(Protocol):
    """Queries on the users read model that authentication needs."""

    async def by_username(self, username: str) -> UserRecord | None:
        """The live user with that username, compared case-insensitively (the exact spelling
        first, for names that differ only in case from before that rule)."""
        ...

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        """The live user and whether the token id was revoked, in one round trip."""
        ...

    async def caught_up(self, user_id: str) -> bool:
        """Whether the users model has applied every event of this user saved so far (then
        `session` knows each of its revocations: the denylist has nothing more to add)."""
        ...


@dataclass(frozen=True, slots=True)
class LiveLog:
    """A newly projected log row (SPEC shape) and the record it came from (for filtering)."""

    row: LogRow
    record: InteractionRecord


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """What one commit of a read model made visible (`model` says which)."""

    position: int
    logs: tuple[LiveLog, ...] = ()
    purged: bool = False
    model: str = "logs"
    projections: tuple[ProjectionStatus, ...] = ()  # model "projections": statuses that changed


class Subscription(Protocol):
    """One live client's view of the broadcast."""

    lagged: bool
    """True when updates were dropped for this client; it must catch up from the read model."""

    async def next(self, timeout: float) -> LiveUpdate | None:
        """The next update, or None after `timeout` seconds without one."""
        ...

    def close(self) -> None:
        """Stop receiving."""
        ...


class Broadcaster(Protocol):
    """Fans projection commits out to live clients (in-process now; Redis for scale-out)."""

    def publish(self, update: LiveUpdate) -> None:
        """Deliver to every current subscriber without blocking the publisher."""
        ...

    def subscribe(self, models: frozenset[str] | None = None, rows: bool = True) -> Subscription:
        """A new subscription that sees every update published after this call (of `models`
        only, when given: a live client is not woken for commits it would ignore). Without
        `rows` its logs updates may come without their rows (a follower of positions only)."""
        ...

    @property
    def listened(self) -> bool:
        """Whether an update published now could reach a subscriber wanting rows: False only
        when this adapter knows none does anywhere (a publisher may then leave the rows out)."""
        ...

    @property
    def unreachable(self) -> str | None:
        """Why live updates cannot arrive now (the shared channel does not answer; its
        subscribers are marked lagged and woken), or None while they can."""
        ...

    async def unreachable_after(self, wait_s: float) -> str | None:
        """`unreachable`, once the channel has answered again or `wait_s` has passed."""
        ...


class TicketStore(Protocol):
    """Single-use, short-lived tickets standing for a token's claims (SSE auth without a URL token).

    In process memory for one server; a shared store (Redis) when several serve one fleet.
    """

    async def issue(self, claims: TokenClaims, ttl_s: float) -> str:
        """A new unguessable ticket for `claims`, valid once within `ttl_s` seconds."""
        ...

    async def consume(self, ticket: str) -> TokenClaims | None:
        """The claims of a live ticket, which is spent by this call; None if unknown or expired."""
        ...


class TokenDenylist(Protocol):
    """Token ids revoked by logout, checked on every request by every API process.

    The revocation event stays the source of truth (the users read model holds it once
    projected); the denylist makes a logout hold at once on every replica, before that.
    """

    async def deny(self, jti: str, expires_at: float) -> None:
        """Refuse the token id `jti` until `expires_at` (Unix seconds), when it expires anyway."""
        ...

    async def denied(self, jti: str) -> bool:
        """True when `jti` was denied and has not yet expired."""
        ...
