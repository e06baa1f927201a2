"""Response structs shared by several routes."""

from __future__ import annotations

from typing import TypeVar, cast

import msgspec

from application.reads.rows import (
    Attacker,
    AttackerCommand,
    AuditRow,
    BountyRow,
    DeadLetter,
    LogRow,
    PurgeResult,
    UserSummary,
)


class MessageResponse(msgspec.Struct):
    """`{"message": ...}`."""

    message: str


class UserResponse(msgspec.Struct):
    """A user as admins see it (never the hash)."""

    uuid: str
    username: str
    role: str
    must_change_password: bool


class LogPage(msgspec.Struct):
    """SPEC's pagination envelope of log rows."""

    total: int
    limit: int
    offset: int
    data: list[LogRow]


class _SplicedPage(msgspec.Struct):
    """A pagination envelope with its rows already JSON: encoded as they are, not decoded first.

    Encodes exactly as `LogPage`, `BountyPage` and `AttackerPage` do (the same keys in the same
    order)."""

    total: int
    limit: int
    offset: int
    data: msgspec.Raw


class DeadLetterPage(msgspec.Struct):
    """SPEC's pagination envelope of dead letters."""

    total: int
    limit: int
    offset: int
    data: list[DeadLetter]


class BountyPage(msgspec.Struct):
    """SPEC's pagination envelope of bounty rows."""

    total: int
    limit: int
    offset: int
    data: list[BountyRow]


class AttackerPage(msgspec.Struct):
    """SPEC's pagination envelope of attacker profiles."""

    total: int
    limit: int
    offset: int
    data: list[Attacker]


Spliced = TypeVar("Spliced", LogPage, BountyPage, AttackerPage)


def spliced_page(
    page: type[Spliced], total: int, limit: int, offset: int, rows_json: bytes
) -> Spliced:
    """A `page` envelope around rows that are already a JSON array of its row objects; typed as
    `page`, the route's declared (and documented) response."""
    return cast(Spliced, _SplicedPage(total, limit, offset, msgspec.Raw(rows_json)))


class CommandPage(msgspec.Struct):
    """SPEC's pagination envelope of an attacker's commands."""

    total: int
    limit: int
    offset: int
    data: list[AttackerCommand]


class ArtifactList(msgspec.Struct):
    """An attacker's `file_captured` log rows (all of them: `total` is their number)."""

    total: int
    data: list[LogRow]


class AuditPage(msgspec.Struct):
    """SPEC's pagination envelope of audit rows."""

    total: int
    limit: int
    offset: int
    data: list[AuditRow]


class ConfigResponse(msgspec.Struct, omit_defaults=True):
    """Settings; `users` for admins only, `developer_mode` only in developer mode."""

    role: str
    deployment_limit: int
    global_mutation_interval: str
    users: list[UserSummary] | msgspec.UnsetType = msgspec.UNSET
    developer_mode: bool | msgspec.UnsetType = msgspec.UNSET


class ReinitResponse(msgspec.Struct):
    """`DELETE /config/reinit`'s answer."""

    message: str
    deleted: PurgeResult
