"""Application-level failures that are not broken domain rules."""

from domain.shared.errors import DomainError


class AuthenticationFailed(DomainError):
    """Credentials or token not accepted (401)."""


class RateLimited(DomainError):
    """Too many failed attempts (429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A dependency (the database) cannot be reached (503)."""
