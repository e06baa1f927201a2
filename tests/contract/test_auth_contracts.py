"""Behaviour suites for the authentication ports, each run on every adapter and fake:
`PasswordHasher` (argon2id, the tests' fake) and `TokenIssuer` (PyJWT).

A new adapter subclasses the port's contract class and provides the fixtures it names.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import jwt
import pytest

from application.errors import AuthenticationError
from application.ports import PasswordHasher, TokenIssuer
from infrastructure.auth.argon2_hasher import Argon2Hasher
from infrastructure.auth.jwt_tokens import LEEWAY_S, JwtTokens
from tests.unit.identity.fakes import FakeHasher

PASSWORDS = ["password-1", "pässwörd ☃ with spaces", "x" * 1000]
GARBAGE_HASHES = [
    "",
    "not a hash",
    "$argon2id$v=19$m=8,t=1,p=1$broken",
    "$2b$12$abcdefghijklmnopqrstuuN3wNWgvwzA6t8RkC0Ckq9G7xJ1e6G1O",  # bcrypt, another scheme
    "fake$",
]


class PasswordHasherContract:
    """The port's promises; subclasses provide `hasher` and say which properties they keep."""

    salted: bool  # two hashes of one password differ
    one_way: bool  # the encoded hash does not reveal the password

    @pytest.mark.parametrize("password", PASSWORDS)
    def test_a_hash_verifies_its_password(self, hasher: PasswordHasher, password: str) -> None:
        """The password a hash was made from verifies against it."""
        assert hasher.verify(hasher.hash(password), password) is True

    @pytest.mark.parametrize("other", ["password-2", "Password-1", "password-1 ", ""])
    def test_another_password_does_not_verify(self, hasher: PasswordHasher, other: str) -> None:
        """Any other password, even one character off, is refused with False."""
        assert hasher.verify(hasher.hash("password-1"), other) is False

    @pytest.mark.parametrize("encoded", GARBAGE_HASHES)
    def test_an_unreadable_hash_is_false_not_an_error(
        self, hasher: PasswordHasher, encoded: str
    ) -> None:
        """A corrupt or foreign hash verifies nothing and raises nothing."""
        assert hasher.verify(encoded, "password-1") is False

    def test_hashes_of_one_password_differ(self, hasher: PasswordHasher) -> None:
        """Hashes are salted: one password hashed twice gives two encodings that both verify."""
        if not self.salted:
            pytest.skip("a fake may be unsalted (deterministic hashes make events comparable)")
        first, second = hasher.hash("password-1"), hasher.hash("password-1")
        assert first != second
        assert hasher.verify(first, "password-1")
        assert hasher.verify(second, "password-1")

    def test_the_hash_does_not_reveal_the_password(self, hasher: PasswordHasher) -> None:
        """Neither the password nor its reversal appears in the encoded hash."""
        if not self.one_way:
            pytest.skip("a fake may be reversible (tests read the password back from events)")
        encoded = hasher.hash("correct-horse-battery")
        assert "correct-horse-battery" not in encoded
        assert "correct-horse-battery"[::-1] not in encoded


class TestArgon2Hasher(PasswordHasherContract):
    """The contract on argon2id (the cheapest parameters; the production profile below)."""

    salted = True
    one_way = True

    @pytest.fixture
    def hasher(self) -> Argon2Hasher:
        return Argon2Hasher("test")


def test_the_production_profile_is_argon2id_with_rfc_9106_parameters() -> None:
    """The default profile encodes argon2id with RFC 9106's low-memory parameters."""
    encoded = Argon2Hasher().hash("password-1")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


class TestFakeHasher(PasswordHasherContract):
    """The contract on the tests' fake: verifies like argon2, but unsalted and reversible."""

    salted = False
    one_way = False

    @pytest.fixture
    def hasher(self) -> FakeHasher:
        return FakeHasher()


# --- TokenIssuer ------------------------------------------------------------------------------

SECRET = "contract-secret-0123456789abcdefghijklmnop"
TTL_S = 900


class Clock:
    """Wall-clock seconds the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


IssuerFactory = Callable[[str, Clock], TokenIssuer]


def tampered(token: str) -> str:
    """The token with its payload's `uuid` claim replaced and the signature kept."""
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = raw.replace(b'"uuid":"', b'"uuid":"0')
    assert forged != raw
    encoded = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


class TokenIssuerContract:
    """The port's promises; subclasses provide `make` (secret, clock -> issuer) and `leeway_s`."""

    leeway_s: float  # how long past its expiry a token is still accepted (clock skew)

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock(1_800_000_000.0)

    @pytest.fixture
    def issuer(self, make: IssuerFactory, clock: Clock) -> TokenIssuer:
        return make(SECRET, clock)

    def test_a_token_verifies_to_the_claims_it_was_issued_with(
        self, issuer: TokenIssuer, clock: Clock
    ) -> None:
        """verify(issue()) gives back the user, the name, the id and the times issued."""
        token, claims = issuer.issue("2f1c6d2e-0000-4000-8000-000000000001", "alice")
        assert issuer.verify(token) == claims
        assert (claims.user_id, claims.username) == (
            "2f1c6d2e-0000-4000-8000-000000000001",
            "alice",
        )
        assert claims.issued_at == clock.now
        assert claims.expires_at > claims.issued_at
        assert claims.jti

    def test_each_token_has_its_own_id(self, issuer: TokenIssuer) -> None:
        """Two tokens for one user differ and carry distinct ids (so one can be revoked)."""
        first, first_claims = issuer.issue("u-1", "alice")
        second, second_claims = issuer.issue("u-1", "alice")
        assert first != second
        assert first_claims.jti != second_claims.jti

    def test_expiry_is_honoured_with_the_leeway(self, issuer: TokenIssuer, clock: Clock) -> None:
        """A token is accepted up to `leeway_s` past its expiry and refused after."""
        token, claims = issuer.issue("u-1", "alice")
        clock.now = claims.expires_at + self.leeway_s - 0.5
        assert issuer.verify(token) == claims
        clock.now = claims.expires_at + self.leeway_s + 0.5
        with pytest.raises(AuthenticationError):
            issuer.verify(token)

    def test_a_tampered_token_is_refused(self, issuer: TokenIssuer) -> None:
        """Changing a claim without re-signing makes the token invalid."""
        token, _ = issuer.issue("u-1", "alice")
        with pytest.raises(AuthenticationError):
            issuer.verify(tampered(token))

    def test_a_token_signed_with_another_secret_is_refused(
        self, issuer: TokenIssuer, make: IssuerFactory, clock: Clock
    ) -> None:
        """A token from an issuer with a different secret is not accepted."""
        foreign, _ = make("another-secret-0123456789abcdefghijklmnop", clock).issue("u-1", "alice")
        with pytest.raises(AuthenticationError):
            issuer.verify(foreign)

    @pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer x.y.z", "ü.ü.ü"])
    def test_garbage_is_refused_with_an_authentication_error(
        self, issuer: TokenIssuer, token: str
    ) -> None:
        """Anything that is not a token fails as authentication, never as another error."""
        with pytest.raises(AuthenticationError):
            issuer.verify(token)


class TestJwtTokens(TokenIssuerContract):
    """The contract on the HS256 PyJWT issuer."""

    leeway_s = LEEWAY_S

    @pytest.fixture
    def make(self) -> IssuerFactory:
        return lambda secret, clock: JwtTokens(lambda: secret, ttl_s=TTL_S, clock=clock)


CRAFTING_SECRET = "jwt-contract-secret-0123456789abcdef"


def crafted(claims: dict[str, object]) -> str:
    return jwt.encode(claims, CRAFTING_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("iat_offset", "lifetime", "accepted"),
    [
        pytest.param(0.0, TTL_S, True, id="as-issued"),
        pytest.param(LEEWAY_S - 1, TTL_S, True, id="iat-within-leeway"),
        pytest.param(LEEWAY_S + 5, TTL_S, False, id="iat-in-the-future"),
        pytest.param(0.0, TTL_S + 1, False, id="lifetime-over-ttl"),
        pytest.param(-100.0, 10 * 365 * 86400, False, id="ten-year-token"),
    ],
)
def test_jwt_refuses_tokens_it_would_not_have_issued(
    iat_offset: float, lifetime: float, accepted: bool
) -> None:
    """A validly signed token issued in the future or living longer than the TTL is refused."""
    now = 1_700_000_000.0
    issuer = JwtTokens(lambda: CRAFTING_SECRET, ttl_s=TTL_S, clock=lambda: now)
    iat = now + iat_offset
    token = crafted({"sub": "alice", "uuid": "u-1", "iat": iat, "exp": iat + lifetime, "jti": "j"})
    if accepted:
        assert issuer.verify(token).user_id == "u-1"
    else:
        with pytest.raises(AuthenticationError):
            issuer.verify(token)


def test_jwt_reads_its_secret_when_signing_and_verifying() -> None:
    """The secret is a callable read at each use (it may be generated after construction)."""
    secrets = ["first-secret-0123456789abcdefghijkl"]
    issuer = JwtTokens(lambda: secrets[-1], ttl_s=TTL_S)
    token, _ = issuer.issue("u-1", "alice")
    secrets.append("second-secret-0123456789abcdefghijk")
    with pytest.raises(AuthenticationError):
        issuer.verify(token)
