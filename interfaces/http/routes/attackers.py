"""`/attackers` and per-attacker commands and artifacts."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from application.reads.rows import Attacker
from domain.shared.errors import InvalidError, NotFoundError
from interfaces.http.params import (
    SUBSTRING,
    TEXT,
    Limit,
    Offset,
    given,
    int_param,
    integer,
    offset_param,
    one_of,
    page,
    query,
    substring,
    uuid_param,
)
from interfaces.http.schemas import (
    ArtifactList,
    AttackerPage,
    CommandPage,
    spliced_page,
)
from interfaces.http.views import ViewParam, readers_for
from projections.attackers_queries import ORDERS

AttackerId = Annotated[
    str, Parameter(description="The attacker's uuid", schema_extra={"format": "uuid"})
]


@get("/attackers", tags=["attackers"])
async def list_attackers(
    request: Request[Any, Any, Any],
    limit: Limit = None,
    offset: Offset = None,
    search: Annotated[str | None, query("Substring of the attacker's IP", SUBSTRING)] = None,
    service: Annotated[str | None, query("Only attackers that touched this service", TEXT)] = None,
    sort_by: Annotated[str | None, query("Order (default recent)", one_of(*ORDERS))] = None,
    view: ViewParam = None,
) -> AttackerPage:
    """Attacker profiles; `sort_by` recent (default) | active | traversals."""
    size, skip = page(limit, offset)
    order = given(sort_by) or "recent"
    if order not in ORDERS:
        raise InvalidError(f"sort_by must be one of {', '.join(ORDERS)} (got {order[:32]!r})")
    total, rows = await (await readers_for(request, view)).attackers.page_json(
        substring("search", search), given(service), order, size, skip
    )
    return spliced_page(AttackerPage, total, size, skip, rows)


@get("/attackers/{uuid:str}", tags=["attackers"])
async def get_attacker(
    request: Request[Any, Any, Any], uuid: AttackerId, view: ViewParam = None
) -> Attacker:
    """One attacker with its behaviour block (404 unknown)."""
    readers = await readers_for(request, view)  # an unknown view answers before a bad uuid
    attacker = await readers.attackers.one_json(uuid_param("attacker uuid", uuid))
    if attacker is None:
        raise NotFoundError(f"attacker {uuid} not found")
    return cast(Attacker, msgspec.Raw(attacker))  # spliced as built: the declared shape


@get("/attackers/{uuid:str}/commands", tags=["attackers"])
async def attacker_commands(
    request: Request[Any, Any, Any],
    uuid: AttackerId,
    limit: Annotated[str | None, query("Page size, 1..200 (default 50)", integer(1, 200))] = None,
    offset: Offset = None,
    service: Annotated[str | None, query("Only commands on this service", TEXT)] = None,
    view: ViewParam = None,
) -> CommandPage:
    """Commands the attacker ran, oldest first (limit 1..200)."""
    size = int_param("limit", limit, 50, 1, 200)
    skip = offset_param(offset)
    queries = (await readers_for(request, view)).attackers
    ident = uuid_param("attacker uuid", uuid)
    if await queries.ip_of(ident) is None:
        raise NotFoundError(f"attacker {uuid} not found")
    total, rows = await queries.commands(ident, given(service), size, skip)
    return CommandPage(total, size, skip, list(rows))


@get("/attackers/{uuid:str}/artifacts", tags=["attackers"])
async def attacker_artifacts(
    request: Request[Any, Any, Any], uuid: AttackerId, view: ViewParam = None
) -> ArtifactList:
    """Captured-file log rows of the attacker, newest first."""
    queries = (await readers_for(request, view)).attackers
    ip = await queries.ip_of(uuid_param("attacker uuid", uuid))
    if ip is None:
        raise NotFoundError(f"attacker {uuid} not found")
    rows = await queries.artifacts(ip)
    return ArtifactList(len(rows), rows)
