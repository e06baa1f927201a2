"""argon2id password hashing (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PROFILES = {
    "default": profiles.RFC_9106_LOW_MEMORY,
    # The cheapest profile argon2-cffi ships; for test suites only, never production.
    "test": profiles.CHEAPEST,
}


class Argon2Hasher:
    """argon2id with a named parameter profile."""

    def __init__(self, profile: str = "default") -> None:
        self._argon = _Argon2.from_parameters(PROFILES[profile])

    def hash(self, password: str) -> str:
        """Encoded argon2id hash."""
        return self._argon.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        """True on a match; False for a mismatch or an unreadable hash."""
        try:
            return self._argon.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
