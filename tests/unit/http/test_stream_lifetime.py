"""A stream ends with its session: at the token's expiry, or soon after a revocation."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator

import pytest
from litestar.response import ServerSentEventMessage

from application.errors import AuthenticationError, RateLimitedError
from application.identity.login import Principal
from application.ports import TokenClaims
from interfaces.http.stream_lifetime import StreamSlots, session_stream, while_session_lasts


class Sessions:
    """An `authenticate_claims` whose answer the test flips, counting the checks."""

    def __init__(self) -> None:
        self.valid = True
        self.checks = 0

    async def authenticate_claims(self, claims: TokenClaims) -> Principal:
        self.checks += 1
        if not self.valid:
            raise AuthenticationError("token has been revoked")
        return principal(claims.expires_at)


def principal(expires_at: float) -> Principal:
    claims = TokenClaims("u-1", "alice", "jti", issued_at=time.time(), expires_at=expires_at)
    return Principal("u-1", "alice", "viewer", False, claims)


class Feed:
    """An endless inner stream that yields when told and records that it was closed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.closed = False

    async def messages(self) -> AsyncIterator[ServerSentEventMessage]:
        try:
            while True:
                yield ServerSentEventMessage(data=await self.queue.get())
        finally:
            self.closed = True


def reason(message: ServerSentEventMessage) -> str:
    assert message.event == "error"
    body = json.loads(str(message.data))
    assert body["type"] == "error"
    text: str = body["message"]
    return text


async def collect(stream: AsyncIterator[ServerSentEventMessage]) -> list[ServerSentEventMessage]:
    return [message async for message in stream]


@pytest.mark.anyio
async def test_messages_pass_through_until_the_token_expires() -> None:
    """Given a token with 0.3 s left, the inner frames pass, then the stream ends with a reason."""
    feed, sessions = Feed(), Sessions()
    feed.queue.put_nowait("one")
    feed.queue.put_nowait("two")
    started = time.monotonic()
    stream = while_session_lasts(feed.messages(), principal(time.time() + 0.3), sessions)
    messages = await asyncio.wait_for(collect(stream), 3)
    assert [m.data for m in messages[:2]] == ["one", "two"]
    assert reason(messages[-1]) == "session ended: token expired"
    assert 0.25 < time.monotonic() - started < 1.5
    assert feed.closed


@pytest.mark.anyio
async def test_a_revoked_session_ends_the_stream_at_the_next_check() -> None:
    """A session revoked while idle ends the stream within one re-check period."""
    feed, sessions = Feed(), Sessions()
    stream = while_session_lasts(
        feed.messages(), principal(time.time() + 600), sessions, recheck_s=0.1
    )
    feed.queue.put_nowait("before")
    first = await asyncio.wait_for(anext(stream), 1)
    assert first.data == "before"
    sessions.valid = False
    rest = await asyncio.wait_for(collect(stream), 1)
    assert [reason(m) for m in rest] == ["session ended: token has been revoked"]
    assert feed.closed


@pytest.mark.anyio
async def test_a_revoked_session_ends_a_busy_stream_too() -> None:
    """Frames every 20 ms never leave the stream idle; a revocation still ends it within a
    re-check period."""
    feed, sessions = Feed(), Sessions()
    stream = while_session_lasts(
        feed.messages(), principal(time.time() + 600), sessions, recheck_s=0.1
    )

    async def chatter() -> None:
        while not feed.closed:
            feed.queue.put_nowait("frame")
            await asyncio.sleep(0.02)

    talking = asyncio.ensure_future(chatter())
    assert (await asyncio.wait_for(anext(stream), 1)).data == "frame"
    sessions.valid = False
    revoked_at = time.monotonic()
    rest = await asyncio.wait_for(collect(stream), 2)
    assert reason(rest[-1]) == "session ended: token has been revoked"
    assert time.monotonic() - revoked_at < 0.5
    talking.cancel()


@pytest.mark.anyio
async def test_a_valid_session_is_rechecked_without_losing_frames() -> None:
    """Re-checks while waiting do not cancel the inner stream: a later frame still arrives."""
    feed, sessions = Feed(), Sessions()
    stream = while_session_lasts(
        feed.messages(), principal(time.time() + 600), sessions, recheck_s=0.05
    )
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.3)
    assert sessions.checks >= 3
    assert not pending.done()
    feed.queue.put_nowait("late")
    assert (await asyncio.wait_for(pending, 1)).data == "late"
    await stream.aclose()
    assert feed.closed


@pytest.mark.anyio
async def test_the_inner_stream_ending_ends_the_stream() -> None:
    """When the inner stream finishes (maxOutput), so does the outer one, with nothing added."""

    async def two() -> AsyncIterator[ServerSentEventMessage]:
        for data in ("a", "b"):
            yield ServerSentEventMessage(data=data)

    stream = while_session_lasts(two(), principal(time.time() + 600), Sessions())
    assert [m.data for m in await asyncio.wait_for(collect(stream), 1)] == ["a", "b"]


@pytest.mark.anyio
async def test_a_server_stop_ends_the_stream_at_once() -> None:
    """Setting `stopping` ends the stream with a "server shutting down" frame, closing the feed."""
    sessions, feed, stopping = Sessions(), Feed(), asyncio.Event()
    stream = while_session_lasts(
        feed.messages(), principal(time.time() + 600), sessions, stopping=stopping
    )
    feed.queue.put_nowait("one")
    assert (await anext(stream)).data == "one"
    stopping.set()
    assert reason(await asyncio.wait_for(anext(stream), 1)) == "server shutting down"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert feed.closed


def other(user_id: str) -> Principal:
    claims = TokenClaims(
        user_id, user_id, "jti", issued_at=time.time(), expires_at=time.time() + 60
    )
    return Principal(user_id, user_id, "viewer", False, claims)


@pytest.mark.anyio
async def test_a_user_holds_at_most_the_allowed_streams_and_gets_each_back_when_it_ends() -> None:
    slots = StreamSlots(per_user=2)
    alice = principal(time.time() + 60)
    feeds = [Feed(), Feed()]
    held = [session_stream(feed.messages(), alice, Sessions(), slots) for feed in feeds]
    with pytest.raises(RateLimitedError, match="too many live streams") as refused:
        session_stream(Feed().messages(), alice, Sessions(), slots)
    assert refused.value.retry_after_s > 0
    assert slots.open_for("u-1") == 2
    session_stream(Feed().messages(), other("u-2"), Sessions(), slots)  # another user: apart

    feeds[0].queue.put_nowait("one")
    assert (await anext(held[0])).data == "one"
    await held[0].aclose()  # the client went away mid-stream
    assert feeds[0].closed
    assert slots.open_for("u-1") == 1
    await held[0].aclose()  # closing twice gives back one slot, not two
    assert slots.open_for("u-1") == 1


@pytest.mark.anyio
async def test_a_stream_never_started_gives_its_slot_back_when_collected() -> None:
    slots = StreamSlots(per_user=1)
    alice = principal(time.time() + 60)
    held = session_stream(Feed().messages(), alice, Sessions(), slots)
    assert slots.open_for("u-1") == 1
    del held  # the response never began: its client left before the first byte
    gc.collect()
    assert slots.open_for("u-1") == 0
    session_stream(Feed().messages(), alice, Sessions(), slots)  # the slot is free again
