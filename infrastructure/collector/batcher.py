"""The ingestion worker: tails the journal and appends batches of up to 1,000 records / ~50 ms
(a record after a quiet spell at once)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
import structlog

from application.observations.ingest import IngestCommands
from application.ports import ComponentHealth
from domain.observations.batch import MAX_BATCH_RECORDS, JournalSpan, RejectedLine
from domain.observations.records import InteractionRecord
from infrastructure.collector.journal import Checkpoint, Chunk, Journal
from infrastructure.metrics import METRICS

log = structlog.get_logger()
IDLE_POLL_S = 0.5
MAX_BACKOFF_S = 5.0


@dataclass
class BatcherStats:
    """Counters for health and metrics."""

    batches: int = 0
    records: int = 0
    rejected: int = 0
    duplicates_skipped: int = 0
    bytes_committed: int = 0
    failures: int = 0
    last_error: str = ""


class Batcher:
    """Moves journal entries into the event store, checkpointing after each append."""

    def __init__(
        self,
        journal: Journal,
        ingest: IngestCommands,
        max_records: int = MAX_BATCH_RECORDS,
        max_wait_s: float = 0.05,
    ) -> None:
        self._journal = journal
        self._ingest = ingest
        self._max = max_records
        self._wait = max_wait_s
        self._wakeup = asyncio.Event()
        self.stats = BatcherStats()
        self.on_commit: Callable[[], None] = lambda: None
        self.running = False
        self.idle = asyncio.Event()
        self._committed_at = 0.0

    def notify(self) -> None:
        """New entries were journaled (called from the event loop)."""
        self._wakeup.set()

    def health(self) -> ComponentHealth:
        """`failing` while appends fail (records wait safely in the journal meanwhile)."""
        if not self.running:
            return ComponentHealth("failing", "ingestion worker is not running")
        if self.stats.last_error:
            return ComponentHealth(
                "failing", f"store unavailable, spooling: {self.stats.last_error}"
            )
        return ComponentHealth(
            "ok", f"{self.stats.batches} batches, {self.stats.records} records appended"
        )

    async def run(self) -> None:
        """Run until cancelled."""
        checkpoint = self._journal.load_checkpoint()
        segment, offset = (checkpoint.segment, checkpoint.offset) if checkpoint else ("", 0)
        self.running = True
        try:
            while True:
                segment, offset = await self._step(segment, offset)
        finally:
            self.running = False

    async def _step(self, segment: str, offset: int) -> tuple[str, int]:
        segment, offset = self._settle_segment(segment, offset)
        if not segment:
            await self._sleep_until_woken()
            return segment, offset
        chunk = self._journal.read(segment, offset, self._max)
        linger = self._committed_at + self._wait - time.monotonic()
        if len(chunk.entries) < self._max and chunk.entries and linger > 0:
            # A trickle: at most one partial batch per max_wait. A record after a quiet spell
            # goes at once (live views see it within milliseconds); one that follows a recent
            # append waits for the batch to fill until max_wait after that append.
            await asyncio.sleep(linger)
            chunk = self._journal.read(segment, offset, self._max)
        if not chunk.entries:
            await self._sleep_until_woken()
            return segment, offset
        return segment, await self._commit(chunk)

    def _settle_segment(self, segment: str, offset: int) -> tuple[str, int]:
        """Move past segments that are fully read and no longer written."""
        names = self._journal.segments()
        if not segment or segment not in names:
            later = [n for n in names if n > segment]
            return (later[0], 0) if later else ("", 0)
        finished = segment != self._journal.current_segment
        if finished and self._exhausted(segment, offset):
            later = [n for n in names if n > segment]
            if later:
                # Checkpointing here deletes the finished segment now, not after the next
                # append: a journal that filled its disk gets its space back (ADR 0004).
                self._journal.save_checkpoint(Checkpoint(later[0], 0))
                return later[0], 0
        return segment, offset

    def _exhausted(self, segment: str, offset: int) -> bool:
        """Nothing more will come from a segment no longer written: fully read, or only a torn
        frame left (its writer died mid-write, so that message was never accepted)."""
        size = self._journal.size(segment)
        if offset >= size:
            return True
        if self._journal.read(segment, offset, 1).entries:
            return False
        log.warning("journal_torn_tail_skipped", segment=segment, bytes=size - offset)
        return True

    async def _sleep_until_woken(self) -> None:
        self.idle.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(IDLE_POLL_S):
                await self._wakeup.wait()
        self._wakeup.clear()
        self.idle.clear()

    async def _commit(self, chunk: Chunk) -> int:
        records = [e for e in chunk.entries if isinstance(e, InteractionRecord)]
        rejected = [e for e in chunk.entries if isinstance(e, RejectedLine)]
        span = JournalSpan(chunk.segment, chunk.first_offset, chunk.end_offset)
        end = await self._append_with_retry(records, rejected, span)
        self._journal.save_checkpoint(Checkpoint(chunk.segment, end))
        self._committed_at = time.monotonic()
        self.stats.bytes_committed += end - chunk.first_offset
        self.on_commit()
        return end

    async def _append_with_retry(
        self, records: list[InteractionRecord], rejected: list[RejectedLine], span: JournalSpan
    ) -> int:
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                position = await anyio.to_thread.run_sync(
                    self._ingest.append, records, rejected, span
                )
            except Exception as e:  # the store is down: the journal keeps the records
                self.stats.failures += 1
                self.stats.last_error = f"{type(e).__name__}: {e}"[:300]
                log.warning("ingest_append_failed", error=self.stats.last_error, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            self.stats.last_error = ""
            if position is None:
                return await self._already_committed(span)
            METRICS.append_seconds.observe(time.perf_counter() - started)
            METRICS.batch_records.observe(len(records) + len(rejected))
            self.stats.batches += 1
            self.stats.records += len(records)
            self.stats.rejected += len(rejected)
            return span.end_offset

    async def _already_committed(self, span: JournalSpan) -> int:
        """A replay after a crash met a batch the store already holds: skip past it."""
        stored = await anyio.to_thread.run_sync(
            self._ingest.committed_span, span.journal, span.first_offset
        )
        self.stats.duplicates_skipped += 1
        end = stored.end_offset if stored else span.end_offset
        log.info("ingest_replay_skipped_committed_batch", journal=span.journal, end=end)
        return end
