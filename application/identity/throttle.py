"""The login throttle port and its policy (docs/security.md, ADR 0012).

Every login attempt reserves its place *before* the password is verified, so attempts in flight
count: a burst of any size gets at most `per_ip` verifications per client IP and `per_ip_user`
per (IP, username) within the window; the rest are refused with 429 at once. A success or an
abandoned attempt releases its reservation; a failure stays counted for the window.

A username alone is never refused, because anyone can send failures for it from many addresses
and would lock the real user out. Failures for a username only slow its next attempts down
(a progressive delay before verifying), whatever the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The numbers of the policy; the defaults are the documented ones."""

    window_s: float = 300.0
    per_ip: int = 10
    per_ip_user: int = 10
    free_user_failures: int = 5  # failures for a username before its attempts slow down
    first_delay_s: float = 0.5  # doubled with each further failure
    max_delay_s: float = 5.0

    def user_delay(self, failures: int) -> float:
        """How long an attempt for a username with `failures` recent failures waits first."""
        extra = failures - self.free_user_failures
        if extra < 0:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** min(extra, 32))


@dataclass(frozen=True, slots=True)
class LoginReservation:
    """One admitted attempt: verify after `delay_s`, then settle it with the outcome."""

    attempt_id: str
    client_ip: str
    username: str
    delay_s: float


def username_key(username: str) -> str:
    """Usernames are throttled case-insensitively, as they log in."""
    return username.casefold()


class LoginThrottle(Protocol):
    """Admits login attempts per the policy; one instance is shared by all requests it sees.

    Adapters: in-process memory (one API process); a shared store (Redis) for several.
    """

    async def reserve(self, client_ip: str, username: str) -> LoginReservation:
        """Count one attempt as in flight, atomically with the check.

        Raises `RateLimitedError` (with a retry time in whole seconds ≥ 1) when the client IP,
        or that IP for this username, already has `per_ip`/`per_ip_user` attempts in flight or
        failed within the window. Never refuses because of the username alone: its recent
        failures set `delay_s` instead.
        """
        ...

    async def settle(self, reservation: LoginReservation, failed: bool) -> None:
        """The attempt ended: a failure counts for the window; otherwise the place is freed.

        Settling the same reservation twice has no further effect.
        """
        ...
