"""Fakes of ports that tests at every level share (each one passes its port's contract suite)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from application.store import EventStoreApp
from domain.observations.records import InteractionRecord
from infrastructure.collector.framing import TcpDeframer
from infrastructure.collector.rfc5424 import parse_line


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


class SyslogTcpCollector:
    """A real TCP syslog endpoint on loopback that parses what it receives (RFC 6587 + 5424).

    Stands in for the collector when testing what sends to it (the emulators' shipper): it can
    be stopped (connections dropped, port closed) and started again on the same port.
    """

    def __init__(self) -> None:
        self.records: list[InteractionRecord] = []
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def target(self) -> str:
        """The shipper's `tcp://` target for this endpoint."""
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (on the previous port after a `stop`, else on a free one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the port and drop every connection, as a dying collector would."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def wait_for_count(self, count: int, timeout: float = 5.0) -> list[InteractionRecord]:
        """Every record received once there are at least `count` (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.records)} of {count} records within {timeout}s")
            await asyncio.sleep(0.01)
        return list(self.records)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        deframer = TcpDeframer()
        try:
            while data := await reader.read(65536):
                for frame in deframer.feed(data):
                    assert isinstance(frame, bytes), frame
                    self.records.append(parse_line(frame))
        except ConnectionError:
            return  # aborted by `stop`
        finally:
            self._writers.discard(writer)
            writer.close()


class InterleavedStore(EventStoreApp):
    """Runs `interloper` once, just before the first save: a concurrent command that wins."""

    interloper: Any = None

    def save_all(self, *objs: Any) -> int:
        interloper, self.interloper = self.interloper, None
        if interloper is not None:
            interloper()
        return super().save_all(*objs)
