"""`/events` (the event history, paged and followed live) and `/audit` (the audit trail)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.history.events import EventHistory
from application.history.ports import HistoryFilter
from application.ports import Broadcaster, Subscription
from application.reads.rows import HistoryPage
from domain.history.catalog import TYPE_NAMES
from domain.shared.errors import InvalidError
from interfaces.http.auth import QUERY_TOKEN, principal_of, requires_audit, services_of
from interfaces.http.openapi import ANSWERS, SSE_ANSWER
from interfaces.http.params import (
    NOT_GIVEN_SCHEMA,
    TEXT,
    EndTime,
    Limit,
    Offset,
    StartTime,
    given,
    int_param,
    integer,
    one_of,
    page,
    query,
    time_param,
)
from interfaces.http.routes.stream import HEADERS
from interfaces.http.schemas import AuditPage
from interfaces.http.stream_lifetime import session_stream

KEEPALIVE_S = 15.0
After = Annotated[str | None, query("Position to continue after (default 0)", integer(0, 2**62))]
AggregateId = Annotated[
    str | None,
    query(
        "Only events of this aggregate", Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID)
    ),
]
TypeParam = Annotated[
    list[str] | None,
    Parameter(
        description="Stable event type names (repeatable), e.g. `fleet.decky_deployed`",
        required=False,
        schema_extra={
            "one_of": None,
            "type": OpenAPIType.ARRAY,
            "items": Schema(
                any_of=[Schema(type=OpenAPIType.STRING, enum=sorted(TYPE_NAMES)), NOT_GIVEN_SCHEMA]
            ),
        },
    ),
]


def history_filter(
    after: str | None,
    types: list[str] | None,
    aggregate_id: str | None,
    actor: str | None,
    start_time: str | None,
    end_time: str | None,
) -> HistoryFilter:
    """The filter of `/events` and `/events/stream`, every value checked (422 otherwise)."""
    names = [t for t in (given(v) for v in types or []) if t]
    unknown = sorted(set(names) - TYPE_NAMES)
    if unknown:
        raise InvalidError(f"unknown event type {unknown[0][:64]!r}; see docs/events.md")
    aggregate = given(aggregate_id)
    try:
        ident = UUID(aggregate) if aggregate else None
    except ValueError:
        raise InvalidError("aggregate_id must be a UUID") from None
    return HistoryFilter(
        after=int_param("after", after, 0, 0, 2**62),
        types=names,
        aggregate_id=ident,
        actor=given(actor),
        start=time_param("start_time", start_time),
        end=time_param("end_time", end_time),
    )


def _flag(name: str, value: str | None) -> bool:
    raw = (given(value) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidError(f"{name} must be true or false")
    return raw in ("true", "1")


@get("/events", guards=[requires_audit], tags=["history"])
async def list_events(
    request: Request[Any, Any, Any],
    after: After = None,
    limit: Annotated[
        str | None, query("Page size, 1..1000 (default 100)", integer(1, 1000))
    ] = None,
    type: TypeParam = None,
    aggregate_id: AggregateId = None,
    actor: Annotated[str | None, query("The acting user's name", TEXT)] = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    expand: Annotated[
        str | None, query("List batch records", one_of("true", "false", "1", "0"))
    ] = None,
) -> HistoryPage:
    """Stored events in position order, secrets redacted; `expand=true` lists batch records."""
    f = history_filter(after, type, aggregate_id, actor, start_time, end_time)
    size = int_param("limit", limit, 100, 1, 1000)
    return await _history(request).page(f, size, _flag("expand", expand))


@get(
    "/events/stream",
    guards=[requires_audit],
    opt={QUERY_TOKEN: True, ANSWERS: (429,)},
    tags=["history"],
    responses=SSE_ANSWER,
)
async def stream_events(
    request: Request[Any, Any, Any],
    after: After = None,
    type: TypeParam = None,
    aggregate_id: AggregateId = None,
    actor: Annotated[str | None, query("The acting user's name", TEXT)] = None,
    token: Annotated[
        str | None, query("Bearer token (EventSource cannot set headers)", TEXT)
    ] = None,
) -> ServerSentEvent:
    """Follow the history live from `after` (or `Last-Event-ID`); each frame's id is a position."""
    cursor = given(after) or request.headers.get("last-event-id")
    f = history_filter(cursor, type, aggregate_id, actor, None, None)
    services = services_of(request)
    frames = _follow(_history(request), services.api.broadcaster, f)
    # Like `/stream`, it ends with the session (expiry, logout, deletion, role change).
    api = services.api
    messages = session_stream(frames, principal_of(request), api.auth, api.slots, api.stopping)
    return ServerSentEvent(messages, headers=HEADERS)


@get("/audit", guards=[requires_audit], tags=["history"])
async def list_audit(
    request: Request[Any, Any, Any],
    actor: Annotated[str | None, query("The acting user's name", TEXT)] = None,
    action: Annotated[str | None, query("Audit action", TEXT)] = None,
    target: Annotated[str | None, query("Audit target", TEXT)] = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    limit: Limit = None,
    offset: Offset = None,
) -> AuditPage:
    """Administrative acts and authentication outcomes, newest first."""
    size, skip = page(limit, offset)
    total, rows = await services_of(request).core.history.audit(
        given(actor),
        given(action),
        given(target),
        time_param("start_time", start_time),
        time_param("end_time", end_time),
        size,
        skip,
    )
    return AuditPage(total, size, skip, list(rows))


def _history(request: Request[Any, Any, Any]) -> EventHistory:
    services = services_of(request)
    return EventHistory(services.core.history, services.core.store)


async def _follow(
    history: EventHistory, broadcaster: Broadcaster, f: HistoryFilter
) -> AsyncIterator[ServerSentEventMessage]:
    """Backlog after the cursor, then each new event as the history model commits it."""
    # Woken by the history model's commits alone; the events themselves come from its pages.
    subscription = broadcaster.subscribe(frozenset({"history"}), rows=False)
    try:
        yield ServerSentEventMessage(data=None, comment="decnet-es history")
        sent_at = time.monotonic()
        while True:
            batch = await history.page(f, 500, expand=False)
            for event in batch.data:
                yield ServerSentEventMessage(
                    data=msgspec.json.encode(event).decode(), event="message", id=event.position
                )
                sent_at = time.monotonic()
            f = HistoryFilter(
                after=batch.next_after,
                types=f.types,
                aggregate_id=f.aggregate_id,
                actor=f.actor,
            )
            if len(batch.data) == 500:
                continue  # more backlog
            await _next_history_commit(subscription)
            if time.monotonic() - sent_at >= KEEPALIVE_S:
                yield ServerSentEventMessage(data=None, comment="keepalive")
                sent_at = time.monotonic()
    finally:
        subscription.close()


async def _next_history_commit(subscription: Subscription) -> None:
    """Wait until the history model commits (or a keepalive is due); other models' are skipped."""
    deadline = time.monotonic() + KEEPALIVE_S
    while (left := deadline - time.monotonic()) > 0:
        update = await subscription.next(timeout=left)
        if update is None or update.model == "history" or subscription.lagged:
            subscription.lagged = False
            return


HISTORY_ROUTES = [list_events, stream_events, list_audit]
