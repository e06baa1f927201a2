"""Fakes of ports that tests at every level share (each one passes its port's contract suite)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from domain.observations.records import InteractionRecord


class MemorySink:
    """A `RecordSink` that keeps every record; it can be slowed or held to feel back-pressure.

    Not a production adapter: every process hands its records to the collector's journal, so an
    in-memory sink would only lose them on a crash. It lives with the tests that need a sink.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.records: list[InteractionRecord] = []
        self.delay = delay
        self._open = asyncio.Event()
        self._open.set()

    async def submit(self, record: InteractionRecord) -> None:
        """Keep the record, after `delay` and once the sink is not held."""
        await asyncio.sleep(self.delay)  # a zero delay still yields, as real I/O would
        await self._open.wait()
        self.records.append(record)

    def hold(self) -> None:
        """Make `submit` wait (as a full downstream would) until `release`."""
        self._open.clear()

    def release(self) -> None:
        """Let waiting and future submits through."""
        self._open.set()

    def matching(self, **attrs: str) -> list[InteractionRecord]:
        """Records whose attributes equal every given value."""
        return [r for r in self.records if all(getattr(r, k) == v for k, v in attrs.items())]

    async def wait_for(
        self, predicate: Callable[[InteractionRecord], bool], timeout: float = 3.0
    ) -> InteractionRecord:
        """The first record satisfying `predicate`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.records:
                if predicate(record):
                    return record
            await asyncio.sleep(0.01)
        raise AssertionError(f"no matching record within {timeout}s; got {self.records!r}")

    async def wait_for_event(
        self, decky: str, service: str, event_type: str, **fields: str
    ) -> InteractionRecord:
        """The first record of that decky, service and event type carrying `fields`."""

        def matches(record: InteractionRecord) -> bool:
            return (record.decky, record.service, record.event_type) == (
                decky,
                service,
                event_type,
            ) and all(record.fields.get(k) == v for k, v in fields.items())

        return await self.wait_for(matches)
