"""Redis Streams broadcaster: projectors append commits, each API process reads them once.

One stream carries every update. `publish` never blocks: it queues the update for this process's
writer task. `subscribe` registers a local queue fed by this process's single reader task (one
XREAD per process, however many clients). A client that reconnects resumes from its SSE
`Last-Event-ID` through the read model; the stream only carries what is new.

A logs commit carries its rows (~600 bytes a record), so the stream is kept to the last
`STREAM_RETAIN_MS` of Redis's own clock as well as to `maxlen` entries: its memory follows the
ingest rate over those seconds, not the ingest so far. Each entry is numbered by one counter
beside the stream, in the same script as its XADD: a reader that finds a number skipped (entries
trimmed before it read them) marks its clients lagged, and they catch up from the read model.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports import LiveUpdate
from infrastructure.broadcast.memory import QUEUE_LIMIT, QueuedSubscription

log = structlog.get_logger()
STREAM_MAXLEN = 10_000  # entries; readers only need the tail
STREAM_RETAIN_MS = 15_000  # and no older than this: ~90 MB of rows at 10,000 records/s
OUTBOX_LIMIT = 10_000
# And in bytes: while Redis is away a projector goes on committing, and each logs commit carries
# its rows (a catch-up commit ~5 MB); 10,000 of them held gigabytes. What is dropped is in the
# read model: every reader of a stream it could not read marks its clients lagged.
OUTBOX_BYTES = 64 << 20
READ_BLOCK_MS = 500  # also how long a close waits for the reader to notice
READ_COUNT = 500
APPEND_BYTES = 8 << 20  # one pipeline carries at most this much (and at least one entry)
RETRY_S = 0.5
FLUSH_S = 2.0
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(LiveUpdate)
_WAKE = LiveUpdate(0)  # an empty logs update: wakes a waiting client to find itself lagged
# KEYS: the stream, its entry counter, its last id; ARGV: maxlen, retain ms, then the entry's
# fields' values:
# the update (`u`), its origin and local sequence, and its model, position and purge flag apart
# (`m`, `p`, `x`: a logs update without its rows, for subscribers that want none), and how many
# numbers to skip first (updates this publisher dropped from a full outbox: readers see a gap).
# Trimmed by Redis's clock, not the publisher's: a skewed host cannot empty the stream.
_APPEND = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local n = redis.call('INCRBY', KEYS[2], 1 + (tonumber(ARGV[9]) or 0))
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'u', ARGV[3], 'o', ARGV[4], 's', ARGV[5], 'm', ARGV[6], 'p', ARGV[7], 'x', ARGV[8], 'n', n)
redis.call('SET', KEYS[3], id)
redis.call('XTRIM', KEYS[1], 'MINID', ms - tonumber(ARGV[2]))
return id
"""


def _stream_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class RedisSubscription(QueuedSubscription):
    """A client's bounded queue; it sees entries after the stream id and local publish seen
    when it subscribed (the second covers this process's updates still in the outbox)."""

    def __init__(
        self,
        owner: RedisBroadcaster,
        since_id: tuple[int, int],
        since_seq: int,
        models: frozenset[str] | None = None,
        rows: bool = True,
    ) -> None:
        super().__init__(owner, owner.capacity, models, rows)
        self.since_id = since_id
        self.since_seq = since_seq


class RedisBroadcaster:
    """Publishes to and fans out from one Redis stream; `start()` before use, `aclose()` after."""

    def __init__(
        self,
        redis: Redis,
        stream: str,
        maxlen: int = STREAM_MAXLEN,
        capacity: int = QUEUE_LIMIT,
        retain_ms: int = STREAM_RETAIN_MS,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._counter = f"{stream}:n"
        self._newest = f"{stream}:last"
        self._maxlen = maxlen
        self._retain_ms = retain_ms
        self._append_script = redis.register_script(_APPEND)
        self.capacity = capacity
        self._origin = secrets.token_hex(8).encode()
        self._seq = 0
        self._outbox: deque[_Entry] = deque()
        self.outbox_bytes = 0  # the bodies waiting in the outbox
        self._dropped = 0  # updates dropped from it since the last append: numbers to skip
        self._outbox_ready = asyncio.Event()
        self._flushed = asyncio.Event()
        self._flushed.set()
        self._last_id: tuple[int, int] = (0, 0)
        self._last_n: int | None = None  # the entry counter's value last read
        self._subscribers: set[RedisSubscription] = set()
        self._subscribed = asyncio.Event()  # wakes an idle reader
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._unreachable: str | None = None  # set by a failed read, cleared by the next good one
        self._answering = asyncio.Event()  # set while `_unreachable` is None
        self._answering.set()

    @property
    def subscribers(self) -> int:
        """Connected live clients in this process."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Read from the stream's current end; start the writer and the reader."""
        self._last_id, self._last_n = await self._end()
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="broadcast-writer"),
            asyncio.create_task(self._read_loop(), name="broadcast-reader"),
        ]

    async def aclose(self) -> None:
        """Flush what is queued (briefly), stop both tasks.

        The reader is not cancelled inside a blocking XREAD (redis-py can hang on that); it
        stops after its current read, at most `READ_BLOCK_MS` later.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_S):
                await self._flushed.wait()
        self._closing = True
        if not self._tasks:
            return
        writer, reader = self._tasks
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_S):
                await reader
        self._tasks = []

    @property
    def listened(self) -> bool:
        return True  # readers in other processes are not known here

    @property
    def unreachable(self) -> str | None:
        return self._unreachable

    async def unreachable_after(self, wait_s: float) -> str | None:
        if self._unreachable is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._answering.wait()
        return self._unreachable

    def _answered(self) -> None:
        self._unreachable = None
        self._answering.set()

    def publish(self, update: LiveUpdate) -> None:
        self._seq += 1
        body = _ENCODER.encode(update)
        dropped = 0
        while self._outbox and (
            len(self._outbox) >= OUTBOX_LIMIT or self.outbox_bytes + len(body) > OUTBOX_BYTES
        ):
            self._pop()
            dropped += 1
        if dropped:
            # Local readers are told here; remote ones by the numbers the next append skips.
            self._dropped += dropped
            self._mark_all_lagged()
            log.warning("broadcast_outbox_full", dropped=dropped)
        self._outbox.append(_Entry(self._seq, update.model, update.position, update.purged, body))
        self.outbox_bytes += len(body)
        self._flushed.clear()
        self._outbox_ready.set()

    def subscribe(
        self, models: frozenset[str] | None = None, rows: bool = True
    ) -> RedisSubscription:
        subscription = RedisSubscription(self, self._last_id, self._seq, models, rows)
        self._subscribers.add(subscription)
        self._subscribed.set()
        return subscription

    def discard(self, subscription: RedisSubscription) -> None:
        """Forget a subscriber (idempotent)."""
        self._subscribers.discard(subscription)

    def _pop(self) -> None:
        self.outbox_bytes -= len(self._outbox.popleft().body)

    def _mark_all_lagged(self) -> None:
        for subscriber in self._subscribers:
            subscriber.lagged = True

    async def _write_loop(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch = _first_entries(self._outbox)
                skip = self._dropped
                try:
                    await self._append(batch, skip)
                except RedisError as e:
                    log.warning("broadcast_publish_failed", error=str(e))
                    await asyncio.sleep(RETRY_S)
                    continue
                self._dropped -= skip
                # By sequence: `publish` may have dropped some of this batch meanwhile.
                while self._outbox and self._outbox[0].seq <= batch[-1].seq:
                    self._pop()
            self._flushed.set()

    async def _append(self, batch: list[_Entry], skip: int) -> None:
        keys = [self._stream, self._counter, self._newest]
        async with self._redis.pipeline(transaction=False) as pipe:
            for i, e in enumerate(batch):
                args: list[bytes | int | str] = [
                    self._maxlen,
                    self._retain_ms,
                    e.body,
                    self._origin,
                    e.seq,
                    e.model,
                    e.position,
                    int(e.purged),
                    0 if i else skip,
                ]
                await self._append_script(keys, args, client=pipe)
            await pipe.execute()

    async def _read_loop(self) -> None:
        while not self._closing:
            try:
                async for entry_id, fields in self._entries():
                    self._deliver(entry_id, fields)
            except RedisError as e:
                # Entries may have been missed while Redis was away: every client re-reads,
                # woken now to see it (a live client may be waiting for its next keepalive).
                log.warning("broadcast_read_failed", error=str(e))
                self._unreachable = "live updates unavailable: Redis unreachable"
                self._answering.clear()
                self._mark_all_lagged()
                for subscriber in list(self._subscribers):
                    subscriber.offer(_WAKE)
                await asyncio.sleep(RETRY_S)

    async def _entries(self) -> AsyncIterator[tuple[tuple[int, int], dict[bytes, bytes]]]:
        while not self._closing:
            if not self._subscribers:
                # Nobody here listens (a projector reading its own commits back would fetch
                # every row it wrote): follow the stream's end, not its entries, until someone
                # subscribes. A subscription made meanwhile starts at the end last seen, so
                # it may get the updates of up to `READ_BLOCK_MS` before it (their rows are
                # older than its cursor; positions only grow).
                self._subscribed.clear()
                end = await self._end()
                self._answered()
                if self._subscribers:
                    continue  # one came meanwhile, at the cursor it found: read from there
                self._last_id, self._last_n = end
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(READ_BLOCK_MS / 1000):
                        await self._subscribed.wait()
                continue
            cursor = f"{self._last_id[0]}-{self._last_id[1]}"
            answer: Any = await self._redis.xread(
                {self._stream: cursor}, count=READ_COUNT, block=READ_BLOCK_MS
            )
            self._answered()
            for _stream, entries in answer or []:
                for raw_id, fields in entries:
                    self._last_id = _stream_id(raw_id)
                    yield self._last_id, fields

    async def _end(self) -> tuple[tuple[int, int], int | None]:
        """The stream's newest id and entry number, from the keys the append script sets (no
        entry is fetched), or from its newest entry where they are missing."""
        last, number = await self._redis.mget(self._newest, self._counter)
        if last is not None and number is not None:
            return _stream_id(last), int(number)
        newest: Any = await self._redis.xrevrange(self._stream, count=1)
        if not newest:
            return self._last_id, self._last_n
        return _stream_id(newest[0][0]), _number(newest[0][1])

    def _deliver(self, entry_id: tuple[int, int], fields: dict[bytes, bytes]) -> None:
        number = _number(fields)
        if number is not None:
            if self._last_n is not None and number != self._last_n + 1:
                # Trimmed before this process read them (it fell behind by the retention), or
                # the counter was reset: what was missed is in the read model.
                log.warning("broadcast_entries_missed", missed=number - self._last_n - 1)
                self._mark_all_lagged()
            self._last_n = number
        mine = fields.get(b"o") == self._origin
        seq = int(fields.get(b"s", b"0"))
        bare = _bare(fields)  # nothing decoded
        whole: LiveUpdate | None = None
        for subscriber in list(self._subscribers):
            later = seq > subscriber.since_seq if mine else entry_id > subscriber.since_id
            if not later:
                continue
            if bare is not None and not subscriber.rows:
                subscriber.offer(bare)
                continue
            if whole is None:
                whole = _DECODER.decode(fields[b"u"])
            subscriber.offer(whole)


@dataclass(frozen=True, slots=True)
class _Entry:
    """An update waiting in the outbox: its encoding and the fields appended beside it."""

    seq: int
    model: str
    position: int
    purged: bool
    body: bytes


def _first_entries(outbox: deque[_Entry]) -> list[_Entry]:
    """The oldest entries, up to `READ_COUNT` of them and `APPEND_BYTES` (a catch-up commit
    can hold ~5 MB of rows): one pipeline's worth."""
    batch: list[_Entry] = []
    size = 0
    for entry in outbox:
        if batch and (len(batch) == READ_COUNT or size + len(entry.body) > APPEND_BYTES):
            break
        batch.append(entry)
        size += len(entry.body)
    return batch


def _bare(fields: dict[bytes, bytes]) -> LiveUpdate | None:
    """A logs entry's update without its rows, from its own fields: nothing is decoded. None
    for another model's (small: decoded whole) or an entry written without those fields."""
    if fields.get(b"m") != b"logs" or b"p" not in fields:
        return None
    return LiveUpdate(int(fields[b"p"]), purged=fields.get(b"x") == b"1")


def _number(fields: dict[bytes, bytes]) -> int | None:
    """An entry's number (None for one appended without it, by an older version)."""
    raw = fields.get(b"n")
    return int(raw) if raw is not None else None


@contextlib.asynccontextmanager
async def open_redis_broadcaster(
    redis: Redis, stream: str, maxlen: int = STREAM_MAXLEN, retain_ms: int = STREAM_RETAIN_MS
) -> AsyncIterator[RedisBroadcaster]:
    """A started broadcaster on `stream`, stopped on exit."""
    broadcaster = RedisBroadcaster(redis, stream, maxlen, retain_ms=retain_ms)
    await broadcaster.start()
    try:
        yield broadcaster
    finally:
        await broadcaster.aclose()
