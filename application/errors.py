"""Application-level failures re-exported from the one error tree (`domain.shared.errors`)."""

from domain.shared.errors import AuthenticationError, RateLimitedError, UnavailableError

__all__ = ["AuthenticationError", "RateLimitedError", "UnavailableError"]
