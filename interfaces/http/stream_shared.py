"""What every SSE session of a process shares, so that fan-out costs O(clients) sends and not
O(clients) encodings and queries (ADR 0022).

- A live frame of log rows is encoded (JSON, then the SSE wire form) once per set of rows: every
  client whose filter kept the same rows of a commit sends the same bytes. Rows are immutable and
  their ids deterministic, so the row ids name the bytes.
- The stats + histogram snapshot that follows logs is read once per filter for every session
  that asks within a second and has seen no newer commit than the read's: a read that started
  after commit P answers everyone who has been sent up to P (single-flight, never older than what
  the client was sent, at most `SHARE_S` old).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.response import ServerSentEventMessage

from application.reads.ports import LogFilter
from application.reads.rows import LogRow

FRAMES_KEPT = 64
SHARE_S = 1.0
Snapshot = list[ServerSentEventMessage]


@dataclass
class EncodedFrame(ServerSentEventMessage):
    """A frame whose wire bytes were computed once; every client sends the same bytes."""

    wire: bytes = b""
    frames: int = 1  # SSE frames in `wire` (a joined snapshot holds two)

    def encode(self) -> bytes:
        """The bytes computed when the frame was made."""
        return self.wire


def encoded_frame(kind: str, data: Any, ident: int | None = None) -> EncodedFrame:
    """`{"type": kind, "data": data}` as an SSE `message` frame, encoded now."""
    payload = msgspec.json.encode({"type": kind, "data": data}).decode()
    plain = ServerSentEventMessage(data=payload, event="message", id=ident)
    return EncodedFrame(data=payload, event="message", id=ident, wire=plain.encode())


def joined(frames: Snapshot) -> EncodedFrame:
    """Several frames as one message (one send per client instead of one per frame)."""
    wire = b"".join(frame.encode() for frame in frames)
    return EncodedFrame(data=frames[-1].data, event="message", wire=wire, frames=len(frames))


@dataclass
class _Flight:
    position: int
    started: float
    result: asyncio.Future[tuple[Snapshot, EncodedFrame]]


class StreamShared:
    """Encoded log frames and in-flight snapshot reads, shared by the process's SSE sessions."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._frames: OrderedDict[tuple[int, ...], EncodedFrame] = OrderedDict()
        self._flights: dict[LogFilter, _Flight] = {}

    def logs_frame(self, rows: list[LogRow]) -> EncodedFrame:
        """The `logs` frame of these rows (id: the last row's), encoded once."""
        key = tuple(row.id for row in rows)
        frame = self._frames.get(key)
        if frame is None:
            frame = encoded_frame("logs", rows, rows[-1].id)
            self._frames[key] = frame
            if len(self._frames) > FRAMES_KEPT:
                self._frames.popitem(last=False)
        return frame

    async def snapshot(
        self,
        f: LogFilter,
        position: int,
        read: Callable[[], Awaitable[Snapshot]],
        *,
        join: bool = False,
    ) -> Snapshot:
        """`read()`'s answer, or that of a read for `f` begun under `SHARE_S` ago by a session
        that had seen commit `position` or a later one; with `join`, as one message."""
        now = self._clock()
        flight = self._flights.get(f)
        if flight is None or flight.position < position or now - flight.started > SHARE_S:
            flight = _Flight(position, now, asyncio.ensure_future(_read_and_join(read)))
            flight.result.add_done_callback(_retrieve)
            self._forget_old(now)
            self._flights[f] = flight
        frames, one = await asyncio.shield(flight.result)
        return [one] if join else frames

    def _forget_old(self, now: float) -> None:
        old = [f for f, flight in self._flights.items() if now - flight.started > SHARE_S]
        for f in old:
            del self._flights[f]


async def _read_and_join(
    read: Callable[[], Awaitable[Snapshot]],
) -> tuple[Snapshot, EncodedFrame]:
    frames = await read()
    return frames, joined(frames)


def _retrieve(result: asyncio.Future[Any]) -> None:
    """A read whose every waiter went away must not log "exception never retrieved"."""
    if not result.cancelled():
        result.exception()
