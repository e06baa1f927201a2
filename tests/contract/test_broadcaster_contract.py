"""One behaviour suite for every `Broadcaster` adapter: in-process and Redis Streams.

A new adapter subclasses `BroadcasterContract`, provides the `broadcaster` fixture and says how
many unread updates one subscription holds before it lags (`capacity`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from redis.asyncio import Redis

from application.ports import Broadcaster, LiveLog, LiveUpdate, Subscription
from application.reads.rows import LogRow, ProjectionStatus
from domain.observations.records import InteractionRecord
from infrastructure.broadcast.memory import QUEUE_LIMIT, MemoryBroadcaster
from infrastructure.redis.broadcaster import (
    OUTBOX_LIMIT,
    RedisBroadcaster,
    open_redis_broadcaster,
)
from infrastructure.redis.client import RedisKeys, open_redis
from interfaces.live import publish_commits
from projections.base import LogsCommitted
from tests.contract.conftest import REDIS_URL_ENV

WAIT_S = 2.0  # long enough for any adapter to deliver; a passing test never waits this long
QUIET_S = 0.2  # how long "nothing arrives" is watched for


def update(position: int, model: str = "logs") -> LiveUpdate:
    """A bare update at `position`."""
    return LiveUpdate(position=position, model=model)


def full_update() -> LiveUpdate:
    """An update with every field set, as the runner publishes them."""
    record = InteractionRecord(
        timestamp=datetime(2026, 4, 18, 2, 0, 1, 250_000, tzinfo=UTC),
        decky="files-01",
        service="ssh",
        event_type="command",
        attacker_ip="192.0.2.7",
        msg="uname -a; echo ünïcode",
        fields={"command": "uname -a", "src_port": "50022"},
        raw_line="<134>1 2026-04-18T02:00:01.25Z files-01 ssh - command - uname -a",
    )
    row = LogRow(
        id=42 * 1024,
        timestamp="2026-04-18T02:00:01.250000Z",
        decky="files-01",
        service="ssh",
        event_type="command",
        attacker_ip="192.0.2.7",
        msg=record.msg,
        fields='{"command":"uname -a","src_port":"50022"}',
        raw_line=record.raw_line,
    )
    status = ProjectionStatus(
        name="logs",
        version=3,
        state="live",
        position=42,
        head=42,
        lag_events=0,
        lag_seconds=0.0,
        events_per_second=12.5,
        last_error=None,
        rebuild=None,
    )
    return LiveUpdate(position=42, logs=(LiveLog(row, record),), purged=True, projections=(status,))


async def received(subscription: Subscription, count: int) -> list[LiveUpdate]:
    """The next `count` updates, failing if one does not come within `WAIT_S`."""
    got = []
    for _ in range(count):
        item = await subscription.next(WAIT_S)
        assert item is not None, f"update {len(got) + 1} of {count} never arrived"
        got.append(item)
    return got


async def drained(subscription: Subscription) -> list[LiveUpdate]:
    """Everything the subscription still holds, until it stays quiet for `QUIET_S`."""
    got = []
    while (item := await subscription.next(QUIET_S)) is not None:
        got.append(item)
    return got


@pytest.mark.anyio
class BroadcasterContract:
    """The port's promises; subclasses provide `broadcaster` and `capacity`."""

    capacity: int  # unread updates one subscription holds; one more marks it lagged

    async def test_a_subscriber_sees_updates_in_publish_order(
        self, broadcaster: Broadcaster
    ) -> None:
        """Updates arrive in the order they were published."""
        subscription = broadcaster.subscribe()
        for position in range(1, 11):
            broadcaster.publish(update(position))
        assert [u.position for u in await received(subscription, 10)] == list(range(1, 11))
        assert not subscription.lagged

    async def test_an_update_arrives_whole(self, broadcaster: Broadcaster) -> None:
        """Every field of an update survives the trip: rows, records, statuses, flags."""
        subscription = broadcaster.subscribe()
        sent = full_update()
        broadcaster.publish(sent)
        assert await received(subscription, 1) == [sent]

    async def test_every_subscriber_sees_every_update_after_it_subscribed(
        self, broadcaster: Broadcaster
    ) -> None:
        """Two subscribers both get each later update; one subscribed late misses earlier ones."""
        early = broadcaster.subscribe()
        broadcaster.publish(update(1))
        late = broadcaster.subscribe()
        broadcaster.publish(update(2, model="history"))
        broadcaster.publish(update(3))
        assert [u.position for u in await received(early, 3)] == [1, 2, 3]
        assert [(u.position, u.model) for u in await received(late, 2)] == [
            (2, "history"),
            (3, "logs"),
        ]
        assert await drained(late) == []

    async def test_a_subscriber_of_some_models_sees_only_theirs(
        self, broadcaster: Broadcaster
    ) -> None:
        """A subscription for `logs` skips other models' commits and never lags on them."""
        logs_only = broadcaster.subscribe(frozenset({"logs"}))
        for position in range(1, 2 * self.capacity + 2):
            broadcaster.publish(update(position, model="history"))
        broadcaster.publish(update(2 * self.capacity + 2))
        assert [u.position for u in await received(logs_only, 1)] == [2 * self.capacity + 2]
        assert not logs_only.lagged
        assert await drained(logs_only) == []

    async def test_a_follower_of_positions_sees_every_commit(
        self, broadcaster: Broadcaster
    ) -> None:
        """A subscription without rows (read-your-writes) still gets each commit's model,
        position and purge flag, beside a subscription that gets the whole update."""
        positions = broadcaster.subscribe(rows=False)
        whole = broadcaster.subscribe()
        sent = full_update()
        broadcaster.publish(sent)
        broadcaster.publish(update(43, model="history"))
        got = await received(positions, 2)
        assert [(u.position, u.model, u.purged) for u in got] == [
            (42, "logs", True),
            (43, "history", False),
        ]
        assert await received(whole, 2) == [sent, update(43, model="history")]

    async def test_a_slow_subscriber_lags_without_holding_up_others(
        self, broadcaster: Broadcaster
    ) -> None:
        """A subscriber that never reads is marked lagged; the publisher and a reader go on."""
        slow = broadcaster.subscribe()
        fast = broadcaster.subscribe()
        total = self.capacity + 5
        started = time.monotonic()
        for position in range(1, total + 1):
            broadcaster.publish(update(position))
            assert [u.position for u in await received(fast, 1)] == [position]
        assert time.monotonic() - started < WAIT_S
        assert slow.lagged
        assert not fast.lagged

    async def test_a_lagged_subscriber_keeps_order_and_recovers(
        self, broadcaster: Broadcaster
    ) -> None:
        """What a lagged subscriber still gets is in order; once drained it receives again."""
        slow = broadcaster.subscribe()
        marker = broadcaster.subscribe(frozenset({"history"}))  # hears the last update only
        total = self.capacity + 5
        for position in range(1, total + 1):
            broadcaster.publish(update(position))
        broadcaster.publish(update(total + 1, model="history"))
        # Delivered in order: once the marker is here, so is everything before it.
        assert [u.position for u in await received(marker, 1)] == [total + 1]
        kept = [u.position for u in await drained(slow)]
        assert slow.lagged
        assert kept == sorted(kept)
        assert len(kept) < total  # something was dropped, and said so
        slow.lagged = False  # the client caught up from the read model
        broadcaster.publish(update(1_000))
        assert [u.position for u in await received(slow, 1)] == [1_000]
        assert not slow.lagged

    async def test_close_stops_delivery_to_that_subscriber_only(
        self, broadcaster: Broadcaster
    ) -> None:
        """After close a subscription gets nothing more; the others still do; close twice is ok."""
        closed = broadcaster.subscribe()
        open_ = broadcaster.subscribe()
        closed.close()
        closed.close()
        broadcaster.publish(update(1))
        assert [u.position for u in await received(open_, 1)] == [1]
        assert await closed.next(QUIET_S) is None

    async def test_next_returns_none_after_its_timeout(self, broadcaster: Broadcaster) -> None:
        """With nothing published, `next(timeout)` gives None after about `timeout` seconds."""
        subscription = broadcaster.subscribe()
        started = time.monotonic()
        assert await subscription.next(0.3) is None
        assert 0.25 <= time.monotonic() - started < 0.3 + 1.0

    async def test_publishing_without_subscribers_is_harmless(
        self, broadcaster: Broadcaster
    ) -> None:
        """An update nobody listens to is dropped; a later subscriber does not get it."""
        broadcaster.publish(update(1))
        subscription = broadcaster.subscribe()
        assert await subscription.next(QUIET_S) is None


class TestMemoryBroadcaster(BroadcasterContract):
    """The contract on the in-process broadcaster."""

    capacity = QUEUE_LIMIT

    @pytest.fixture
    def broadcaster(self) -> MemoryBroadcaster:
        return MemoryBroadcaster()


@pytest.mark.anyio
async def test_commits_nobody_could_receive_carry_no_rows() -> None:
    """In process, a logs commit published while no client listens leaves its rows unbuilt
    (they cost ~2 µs a record); once a client subscribes, they travel."""
    broadcaster = MemoryBroadcaster()
    publish = publish_commits(broadcaster)
    built: list[int] = []

    def rows() -> tuple[LiveLog, ...]:
        built.append(1)
        return full_update().logs

    publish("logs", 41, LogsCommitted(rows))
    assert built == []
    assert not broadcaster.listened
    broadcaster.subscribe(rows=False)  # read-your-writes follows positions only
    publish("logs", 41, LogsCommitted(rows))
    assert built == []
    subscription = broadcaster.subscribe()
    assert broadcaster.listened
    publish("logs", 42, LogsCommitted(rows))
    assert built == [1]
    assert [u.logs for u in await received(subscription, 1)] == [full_update().logs]


def test_a_closed_memory_subscription_is_forgotten() -> None:
    """The in-process broadcaster keeps no reference to a closed subscription (no leak)."""
    broadcaster = MemoryBroadcaster()
    subscription = broadcaster.subscribe()
    subscription.close()
    assert broadcaster.subscribers == 0


@pytest.mark.redis
class TestRedisBroadcaster(BroadcasterContract):
    """The contract on the Redis Streams broadcaster (publisher and reader in one process)."""

    capacity = QUEUE_LIMIT

    @pytest.fixture
    async def broadcaster(
        self, redis_shared: tuple[Redis, RedisKeys]
    ) -> AsyncIterator[RedisBroadcaster]:
        client, keys = redis_shared
        async with open_redis_broadcaster(client, keys.live_stream) as broadcaster:
            yield broadcaster


@pytest.mark.redis
@pytest.mark.anyio
async def test_one_reader_fans_out_to_another_process(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """A second broadcaster on the same stream (another replica) sees what the first published."""
    client, keys = redis_shared
    async with (
        open_redis_broadcaster(client, keys.live_stream) as projector,
        open_redis_broadcaster(client, keys.live_stream) as replica,
    ):
        subscription = replica.subscribe()
        sent = full_update()
        projector.publish(sent)
        assert await received(subscription, 1) == [sent]
        assert projector.subscribers == 0


@pytest.mark.redis
@pytest.mark.anyio
async def test_the_stream_stays_bounded(redis_shared: tuple[Redis, RedisKeys]) -> None:
    """The stream is trimmed near MAXLEN however much is published."""
    client, keys = redis_shared
    async with open_redis_broadcaster(client, keys.live_stream, maxlen=100) as broadcaster:
        subscription = broadcaster.subscribe()
        for position in range(1, 1_001):
            broadcaster.publish(update(position))
        while (item := await subscription.next(WAIT_S)) is not None and item.position < 1_000:
            pass
    assert await client.xlen(keys.live_stream) < 300


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_follower_of_positions_decodes_no_rows(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """Through Redis, a logs commit reaches a subscription without rows as its position and
    purge flag alone, read from the entry's own fields (nothing of the rows is decoded)."""
    client, keys = redis_shared
    async with open_redis_broadcaster(client, keys.live_stream) as broadcaster:
        positions = broadcaster.subscribe(rows=False)
        broadcaster.publish(full_update())
        assert await received(positions, 1) == [LiveUpdate(position=42, purged=True)]


@pytest.mark.redis
@pytest.mark.anyio
async def test_the_stream_keeps_only_its_last_seconds(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """Entries older than the retention (by Redis's clock) are trimmed at the next append: a
    logs commit carries its rows, so the stream's memory follows the recent ingest rate."""
    client, keys = redis_shared
    async with open_redis_broadcaster(client, keys.live_stream, retain_ms=1_000) as broadcaster:
        subscription = broadcaster.subscribe()
        for position in range(1, 51):
            broadcaster.publish(update(position))
        assert len(await received(subscription, 50)) == 50
        assert await client.xlen(keys.live_stream) == 50
        await anyio.sleep(1.2)
        broadcaster.publish(update(51))
        assert [u.position for u in await received(subscription, 1)] == [51]
    assert await client.xlen(keys.live_stream) == 1


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_reader_that_missed_entries_marks_its_clients_lagged(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """Entries are numbered as they are appended; a replica that finds a number skipped (an
    entry trimmed before it read it) marks its subscribers lagged, so they catch up from the
    read model instead of silently missing rows."""
    client, keys = redis_shared
    async with (
        open_redis_broadcaster(client, keys.live_stream) as projector,
        open_redis_broadcaster(client, keys.live_stream) as replica,
    ):
        subscription = replica.subscribe()
        projector.publish(update(1))
        assert [u.position for u in await received(subscription, 1)] == [1]
        assert not subscription.lagged
        # An entry appended and trimmed before the replica read it: its number was taken.
        await client.incr(f"{keys.live_stream}:n")
        projector.publish(update(3))
        assert [u.position for u in await received(subscription, 1)] == [3]
        assert subscription.lagged


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_process_nobody_listens_in_fetches_no_entries(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """A reader without subscribers (a projector's) follows the stream's end, not its entries,
    which would be every row it wrote; its first subscriber gets what is published next."""
    client, keys = redis_shared
    reads: list[object] = []
    async with open_redis(os.environ[REDIS_URL_ENV]) as own:
        xread = own.xread

        async def counted(*args: Any, **kwargs: Any) -> Any:
            reads.append(args)
            return await xread(*args, **kwargs)

        own.xread = counted  # type: ignore[method-assign]
        async with (
            open_redis_broadcaster(client, keys.live_stream) as projector,
            open_redis_broadcaster(own, keys.live_stream) as idle,
        ):
            for position in range(1, 21):
                projector.publish(update(position))
            await anyio.sleep(0.8)  # longer than a reader's idle wait
            assert reads == []
            subscription = idle.subscribe()
            projector.publish(update(21))
            assert [u.position for u in await received(subscription, 1)] == [21]
            assert reads


@pytest.mark.redis
@pytest.mark.anyio
async def test_updates_dropped_from_a_full_outbox_mark_other_replicas_lagged(
    redis_shared: tuple[Redis, RedisKeys],
) -> None:
    """A publisher whose outbox overflowed (Redis away or slow) drops its oldest updates; the
    next entry it appends skips their numbers, so a reader elsewhere marks its clients lagged
    (they catch up from the read model) instead of silently missing them."""
    client, keys = redis_shared
    async with open_redis_broadcaster(client, keys.live_stream) as earlier:
        earlier.publish(LiveUpdate(1, model="users"))  # the stream's first entry, flushed on exit
    async with open_redis_broadcaster(client, keys.live_stream) as replica:
        # Only "other" reaches its queue: the lag can come from the numbering alone.
        subscription = replica.subscribe(frozenset({"other"}))
        projector = RedisBroadcaster(client, keys.live_stream)
        for position in range(1, OUTBOX_LIMIT + 2):  # one more than the outbox holds
            projector.publish(LiveUpdate(position, model="users"))
        await projector.start()
        try:
            deadline = time.monotonic() + 10
            while not subscription.lagged:
                assert time.monotonic() < deadline, "the gap went unnoticed"
                await asyncio.sleep(0.05)
        finally:
            await projector.aclose()
