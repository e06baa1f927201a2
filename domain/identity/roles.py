"""Roles and the username/password rules of SPEC §3."""

from __future__ import annotations

import re
from enum import StrEnum

from domain.shared.errors import InvalidError

USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128


class Role(StrEnum):
    """What a user may do: viewers read, auditors also audit, admins also change things."""

    VIEWER = "viewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Capability(StrEnum):
    """What a route needs; a role's rights live in `RIGHTS`, the one table of them."""

    READ = "read"  # every read model a dashboard shows
    AUDIT = "audit"  # event history, audit trail, verification, evidence, as-of views
    COMMAND = "command"  # every mutating route, user administration, artifact download


RIGHTS: dict[Role, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.READ}),
    Role.AUDITOR: frozenset({Capability.READ, Capability.AUDIT}),
    Role.ADMIN: frozenset(Capability),
}


def can(role: str, capability: Capability) -> bool:
    """Whether a user with `role` has `capability` (unknown roles have none)."""
    try:
        return capability in RIGHTS[Role(role)]
    except ValueError:
        return False


def parse_role(value: str) -> Role:
    """Return the role named by `value` or raise `InvalidError`."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidError(f"role must be one of: {names} (got {value!r})") from None


def check_username(username: str) -> str:
    """Return the username when it matches the documented pattern."""
    if not USERNAME_RE.fullmatch(username):
        raise InvalidError("username must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    return username


def check_password(password: str) -> str:
    """Return the password when its length is within the documented bounds."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidError(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    return password
