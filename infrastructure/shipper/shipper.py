"""The emulators' `RecordSink` in a Docker decky: RFC 5424 over TCP to the collector, via a spool.

`submit` appends the record's line to the spool (waiting only when the spool is full), and `run`
sends the spool in order, batch by batch, reconnecting with a capped backoff while the collector
is away. Each batch travels on its own connection (RFC 6587 octet counting) and is acknowledged
the one way plain syslog over TCP allows: the shipper half-closes (`SHUT_WR`) and the collector
answers with its FIN only once every line of the connection is journaled and synced (ADR 0004).
Only then is the batch removed from the spool. A batch whose FIN never comes (reset, timeout,
collector gone) is sent again, whole, on the next connection: a record is never lost, and it
arrives twice only if the collector journaled it and died before sending the FIN.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from domain.observations.records import InteractionRecord
from domain.shared.errors import InvalidError
from infrastructure.collector.framing import octet_count
from infrastructure.collector.rfc5424 import format_line
from infrastructure.shipper.spool import Batch, Spool, SpoolFullError

log = structlog.get_logger()


class ShipperTargetError(InvalidError):
    """`DECNET_SYSLOG_TARGET` is not `tcp://HOST:PORT`."""


@dataclass(frozen=True, slots=True)
class ShipperOptions:
    """Tunables of the shipper (seconds and bytes)."""

    batch_bytes: int = 256 * 1024
    connect_timeout: float = 5.0
    ack_timeout: float = 30.0  # longer without the collector's FIN: sent again
    retry_initial: float = 0.2
    retry_max: float = 5.0


def parse_target(target: str) -> tuple[str, int]:
    """`tcp://host:port` (IPv6 hosts in brackets) as (host, port)."""
    parts = urlsplit(target)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise ShipperTargetError(f"syslog target must be tcp://HOST:PORT, not {target!r}")
    return parts.hostname, port


class SyslogShipper:
    """Spool-first `RecordSink`; `run()` is the sending loop, `close()` stops it."""

    def __init__(self, target: str, spool: Spool, options: ShipperOptions | None = None) -> None:
        self._host, self._port = parse_target(target)
        self._spool = spool
        self._options = options or ShipperOptions()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self.delivered = 0  # records the collector acknowledged since start

    async def submit(self, record: InteractionRecord) -> None:
        """Spool the record's line; waits while the spool is full. ValueError: unformattable."""
        line = format_line(record).encode("utf-8")
        while True:
            try:
                self._spool.append(line)
                break
            except SpoolFullError as exc:
                self._space.clear()
                log.warning("shipper_spool_full", error=str(exc), target=self.target)
                await self._space.wait()
        self._wake.set()

    @property
    def target(self) -> str:
        """Where records go, for logs and health."""
        return f"tcp://{self._host}:{self._port}"

    @property
    def pending_bytes(self) -> int:
        """Spooled bytes the collector has not acknowledged yet."""
        return self._spool.pending_bytes

    async def run(self) -> None:
        """Send the spool forever; reconnects with a capped backoff while the collector is away."""
        delay = self._options.retry_initial
        while True:
            self._wake.clear()  # before reading: a submit from now on wakes the wait below
            batch = self._spool.read(self._options.batch_bytes)
            if not batch.lines:
                await self._wake.wait()
                continue
            try:
                await self._send(batch)
            except OSError as exc:  # TimeoutError included
                log.warning(
                    "shipper_send_failed",
                    error=f"{type(exc).__name__}: {exc}",
                    pending_bytes=self._spool.pending_bytes,
                    retry_in_s=round(delay, 2),
                    target=self.target,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._options.retry_max)
                continue
            delay = self._options.retry_initial
            self._spool.commit(batch.end)
            self.delivered += len(batch.lines)
            self._space.set()

    async def close(self) -> None:
        """Nothing to release between batches; what is spooled stays for the next start."""

    async def _send(self, batch: Batch) -> None:
        """One connection: the batch, our FIN, then the collector's FIN (its acknowledgement)."""
        async with asyncio.timeout(self._options.connect_timeout):
            reader, writer = await asyncio.open_connection(self._host, self._port)
        try:
            writer.write(b"".join(octet_count(line) for line in batch.lines))
            await writer.drain()
            writer.write_eof()
            async with asyncio.timeout(self._options.ack_timeout):
                while await reader.read(4096):
                    pass  # the collector sends nothing but its FIN; anything else is ignored
        except TimeoutError as exc:
            raise TimeoutError(f"no FIN within {self._options.ack_timeout}s") from exc
        finally:
            writer.close()
            # The peer is gone or going; whatever close raises says nothing we act on.
            with contextlib.suppress(OSError):
                await writer.wait_closed()
