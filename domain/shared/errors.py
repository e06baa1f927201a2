"""The one error tree: every domain and application error belongs to exactly one family.

The HTTP layer maps each family to one status code (`interfaces/http/errors.py`), so a new
error only has to pick its family. Names end in `Error` (STYLE.md).
"""

from __future__ import annotations


class DecnetError(Exception):
    """Root of every error a command, a query or authentication can raise on purpose."""


class MalformedError(DecnetError):
    """The request is not even well-formed: e.g. a name outside its pattern (400)."""


class InvalidError(DecnetError):
    """A value breaks a documented constraint (422)."""


class NotFoundError(DecnetError):
    """The thing named does not exist (404)."""


class ConflictError(DecnetError):
    """Valid, but conflicts with the current state (409)."""


class ForbiddenError(DecnetError):
    """The actor may not do this (403)."""


class AuthenticationError(DecnetError):
    """Credentials or token not accepted (401)."""


class RateLimitedError(DecnetError):
    """Too many attempts; retry after `retry_after_s` seconds (429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnavailableError(DecnetError):
    """A dependency (the database, the runtime) cannot be reached (503)."""
