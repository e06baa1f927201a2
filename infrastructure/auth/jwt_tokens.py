"""HS256 access tokens with PyJWT: sub/uuid, iat, exp, jti; 10 s leeway for clock skew.

Beyond the signature, a token must look like one this server issued: not issued in the future
(beyond the leeway) and not living longer than the configured lifetime. A token minted with a
leaked secret therefore cannot outlast the TTL either.

A dashboard sends the same token with every request: the signature and shape checks of a token
string are kept (with the secret they passed under), so a repeat costs a dict lookup; the time
checks run on every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import jwt

from application.errors import AuthenticationError
from application.ports import TokenClaims

ALGORITHM = "HS256"
LEEWAY_S = 10
LIFETIME_SLACK_S = 0.001  # float rounding of iat/exp through JSON
VERIFIED_MAX = 1024


class JwtTokens:
    """Issues and verifies short-lived tokens signed with one shared secret."""

    def __init__(
        self, secret: Callable[[], str], ttl_s: int = 900, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._ttl = ttl_s
        self._clock = clock
        self._verified: dict[str, tuple[str, TokenClaims]] = {}

    def issue(self, user_id: str, username: str) -> tuple[str, TokenClaims]:
        """A signed token; `iat` keeps sub-second precision so revocation-by-time is exact."""
        now = self._clock()
        claims = TokenClaims(
            user_id=user_id,
            username=username,
            jti=uuid4().hex,
            issued_at=now,
            expires_at=now + self._ttl,
        )
        payload = {
            "sub": username,
            "uuid": user_id,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.jti,
        }
        return jwt.encode(payload, self._secret(), algorithm=ALGORITHM), claims

    def verify(self, token: str) -> TokenClaims:
        """Claims of a valid token, or `AuthenticationFailed` saying why not."""
        secret = self._secret()
        kept = self._verified.get(token)
        if kept is not None and kept[0] == secret:
            claims = kept[1]
        else:
            claims = self._decode(token, secret)
            if len(self._verified) >= VERIFIED_MAX:
                self._verified.clear()
            self._verified[token] = (secret, claims)
        now = self._clock()
        if claims.expires_at + LEEWAY_S < now:
            raise AuthenticationError("token has expired")
        if claims.issued_at > now + LEEWAY_S:
            raise AuthenticationError("token is issued in the future")
        return claims

    def _decode(self, token: str, secret: str) -> TokenClaims:
        """The claims of a correctly signed token of our shape and lifetime (no clock checks)."""
        try:
            payload = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                # Expiry is checked by `verify` against our clock (with the same leeway).
                options={
                    "require": ["sub", "uuid", "iat", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError:
            raise AuthenticationError("invalid token") from None
        claims = self._claims(payload)
        if claims.expires_at - claims.issued_at > self._ttl + LIFETIME_SLACK_S:
            raise AuthenticationError("token lifetime exceeds the configured maximum")
        return claims

    @staticmethod
    def _claims(payload: dict[str, object]) -> TokenClaims:
        try:
            return TokenClaims(
                user_id=str(payload["uuid"]),
                username=str(payload["sub"]),
                jti=str(payload["jti"]),
                issued_at=float(str(payload["iat"])),
                expires_at=float(str(payload["exp"])),
            )
        except (TypeError, ValueError):
            raise AuthenticationError("invalid token") from None
