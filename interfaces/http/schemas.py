"""Response structs shared by several routes."""

from __future__ import annotations

import msgspec


class MessageResponse(msgspec.Struct):
    """`{"message": ...}`."""

    message: str


class UserResponse(msgspec.Struct):
    """A user as admins see it (never the hash)."""

    uuid: str
    username: str
    role: str
    must_change_password: bool
