"""Base classes for broken domain rules; the HTTP layer maps each family to one status."""


class DomainError(Exception):
    """A command broke a rule of the domain."""


class NotFound(DomainError):
    """The thing named does not exist (404)."""


class Conflict(DomainError):
    """Valid, but conflicts with the current state (409)."""


class Invalid(DomainError):
    """A value breaks a documented constraint (422)."""


class Forbidden(DomainError):
    """The actor may not do this (403)."""
