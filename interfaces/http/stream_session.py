"""One SSE client's session: snapshot, resumable backlog, then pushed live frames."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import structlog
from litestar.response import ServerSentEventMessage

from application.ports import Broadcaster, LiveUpdate, Subscription
from application.reads.ports import LogFilter, Readers
from application.reads.rows import LogRow
from domain.observations.search import matches
from interfaces.http.stream_shared import EncodedFrame, StreamShared, encoded_frame

log = structlog.get_logger()
KEEPALIVE_S = 15.0
BACKLOG_FRAME = 500
SNAPSHOT_MIN_GAP_S = 1.0
HISTOGRAM_INTERVAL = 15


def _frame(kind: str, data: Any, ident: int | None = None) -> ServerSentEventMessage:
    return encoded_frame(kind, data, ident)


def error_frame(message: str) -> ServerSentEventMessage:
    """`event: error` with `{"type": "error", "message": ...}`: the last frame of a stream."""
    body = {"type": "error", "message": message}
    return ServerSentEventMessage(data=msgspec.json.encode(body).decode(), event="error")


class StreamSession:
    """Yields SSE messages; `max_frames` (developer mode) ends it after that many frames."""

    def __init__(
        self,
        readers: Readers,
        broadcaster: Broadcaster,
        f: LogFilter,
        last_id: int,
        max_frames: int | None,
        admin: bool = False,
        shared: StreamShared | None = None,
    ) -> None:
        self._admin = admin
        self._shared = shared or StreamShared()
        self._position = 0  # the newest logs commit this session has seen
        self._readers = readers
        self._broadcaster = broadcaster
        self._filter = f
        self._last_id = last_id
        self._max = max_frames
        self._sent = 0
        self._snapshot_at = 0.0
        self._snapshot_due = False

    async def messages(self) -> AsyncIterator[ServerSentEventMessage]:
        """The whole stream.

        A live-only client starts at the newest id read *before* subscribing; the backlog query
        after subscribing then covers anything committed in between, and ids dedupe the overlap.
        """
        if self._last_id <= 0:
            self._last_id = await self._readers.logs.max_id()
        # Only the commits this stream shows wake it (other models' are many, and ignored here).
        models = frozenset({"logs", "projections"} if self._admin else {"logs"})
        subscription = self._broadcaster.subscribe(models)
        try:
            yield ServerSentEventMessage(data=None, comment="decnet-es stream")
            async for message in self._run(subscription):
                yield message
                if message.data and self._count_frame(message):
                    return
        except Exception as e:  # a failure mid-stream is reported to the client, then closed
            log.warning("stream_failed", error=type(e).__name__)
            yield error_frame("stream failed")
        finally:
            subscription.close()

    def _count_frame(self, message: ServerSentEventMessage) -> bool:
        self._sent += message.frames if isinstance(message, EncodedFrame) else 1
        return self._max is not None and self._sent >= self._max

    async def _run(self, subscription: Subscription) -> AsyncIterator[ServerSentEventMessage]:
        for message in await self._snapshot():
            yield message
        async for message in self._backlog():
            yield message
        while True:
            update = await subscription.next(self._wait())
            if update is not None and update.model == "projections":
                for message in self._projections(update):
                    yield message
                continue
            if update is not None and update.model != "logs":
                continue  # another model's commit (history): nothing for this stream
            if subscription.lagged and (outage := self._broadcaster.unreachable):
                # No live update can come (Redis is down): say so and end; the client resumes
                # by its last id once /stream answers again (503 meanwhile).
                yield error_frame(f"{outage}; reconnect with Last-Event-ID")
                return
            if subscription.lagged:
                # Updates were dropped for this slow client: catch up from the read model.
                subscription.lagged = False
                async for message in self._backlog():
                    yield message
            elif update is None and not self._snapshot_due:
                yield ServerSentEventMessage(data=None, comment="keepalive")
            elif update is not None:
                self._position = max(self._position, update.position)
                frames = self._live(update)
                for frame in frames:
                    yield frame
                self._snapshot_due = self._snapshot_due or bool(frames) or update.purged
            if self._snapshot_due and time.monotonic() - self._snapshot_at >= SNAPSHOT_MIN_GAP_S:
                for message in await self._snapshot():
                    yield message

    def _projections(self, update: LiveUpdate) -> list[ServerSentEventMessage]:
        """Read-model status changes, for admins only."""
        if not self._admin:
            return []
        return [_frame("projection", status) for status in update.projections]

    def _wait(self) -> float:
        if not self._snapshot_due:
            return KEEPALIVE_S
        return max(0.0, SNAPSHOT_MIN_GAP_S - (time.monotonic() - self._snapshot_at))

    def _live(self, update: LiveUpdate) -> list[ServerSentEventMessage]:
        """The update's matching rows in frames of at most BACKLOG_FRAME: a commit can hold tens
        of thousands, and a client that stops reading keeps one frame's copy in its transport."""
        f = self._filter
        rows: list[LogRow] = [
            live.row
            for live in update.logs
            if live.row.id > self._last_id
            and matches(f.query, live.record)
            and (f.start is None or live.record.timestamp >= f.start)
            and (f.end is None or live.record.timestamp <= f.end)
        ]
        if not rows:
            return []
        self._last_id = rows[-1].id
        return [
            self._shared.logs_frame(rows[i : i + BACKLOG_FRAME])
            for i in range(0, len(rows), BACKLOG_FRAME)
        ]

    async def _backlog(self) -> AsyncIterator[ServerSentEventMessage]:
        while True:
            rows = await self._readers.logs.after(self._last_id, self._filter, BACKLOG_FRAME)
            if rows:
                self._last_id = rows[-1].id
                yield _frame("logs", rows, self._last_id)
                self._snapshot_due = True
            if len(rows) < BACKLOG_FRAME:
                return

    async def _snapshot(self) -> list[ServerSentEventMessage]:
        self._snapshot_due = False
        self._snapshot_at = time.monotonic()
        # One message for both frames, except where `maxOutput` may end the stream between them.
        join = self._max is None
        return await self._shared.snapshot(
            self._filter, self._position, self._read_snapshot, join=join
        )

    async def _read_snapshot(self) -> list[ServerSentEventMessage]:
        stats = await self._readers.stats.stats()
        histogram = await self._readers.logs.histogram(self._filter, HISTOGRAM_INTERVAL)
        return [_frame("stats", stats), _frame("histogram", histogram)]
