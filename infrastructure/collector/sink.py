"""The one entry point for interaction records: syslog lines and in-process emulators alike."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from domain.observations.batch import RejectedLine
from domain.observations.records import InteractionRecord
from infrastructure.collector.group_commit import GroupCommit
from infrastructure.collector.journal import Journal, JournalFull
from infrastructure.collector.rfc5424 import SyslogParseError, parse_line
from infrastructure.collector.stats import CollectorStats

__all__ = ["CollectorSink", "CollectorStats"]

SOFT_LAG_BYTES = 64 * 1024 * 1024
HARD_LAG_BYTES = 1024 * 1024 * 1024
RAW_KEEP = 8192
DISK_RETRY_S = 0.25  # how often a writer held by a full disk tries the journal again
log = structlog.get_logger()


class CollectorSink:
    """Journals each record before anything else, so an accepted record survives a crash.

    `submit` (async) waits while the store lags far behind: that is the back-pressure TCP readers
    and emulators feel. `accept_line` never waits (UDP cannot be paused); beyond the hard limit it
    counts the overflow instead of growing the journal without bound. With the `batch` fsync
    policy a record counts as accepted once the group commit put it on disk, and `submit` and
    `durable` wait for that. When the disk refuses a journal write, nothing is acknowledged:
    `submit` and TCP readers wait until a retry succeeds, UDP lines are dropped and counted
    (`disk_full` says why meanwhile).
    """

    def __init__(
        self,
        journal: Journal,
        committed_bytes: Callable[[], int],
        wake: Callable[[], None],
        soft_lag: int = SOFT_LAG_BYTES,
        hard_lag: int = HARD_LAG_BYTES,
    ) -> None:
        self._journal = journal
        self._committed = committed_bytes
        self._wake = wake
        self._soft = soft_lag
        self._hard = hard_lag
        self.stats = CollectorStats()
        self.group_commit = GroupCommit(journal, self.stats, self._synced)
        self._drained = asyncio.Event()
        self._journaled = 0  # records journaled; `stats.accepted` of them are on disk
        self._unsynced: deque[tuple[int, int]] = deque()  # (journal position, records up to it)
        self.disk_full = ""  # why the last journal write was refused; empty once one succeeds

    @property
    def lag_bytes(self) -> int:
        """Journaled by this process but not yet in the store."""
        return self._journal.bytes_written - self._committed()

    async def submit(self, record: InteractionRecord) -> None:
        """An emulator's record (RecordSink port)."""
        await self.wait_for_capacity()
        while not self._append(record):
            await self.wait_for_disk()
        self._accepted("emulator")
        await self.durable()

    async def durable(self, slack: int = 0) -> None:
        """Wait until the journal is on disk (per the fsync policy) up to `slack` bytes short of
        everything journaled so far."""
        await self.group_commit.durable(self._journal.bytes_written - slack)

    async def wait_for_capacity(self) -> None:
        """Back-pressure: hold the caller while the lag is above the soft limit."""
        while self.lag_bytes > self._soft:
            self._drained.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._drained.wait()

    async def wait_for_disk(self) -> None:
        """A journal write was refused for want of space: pause before trying again."""
        await asyncio.sleep(DISK_RETRY_S)

    def committed(self) -> None:
        """The batcher moved records into the store: waiting writers may proceed."""
        self._drained.set()

    def accept_line(self, raw: bytes, source: str) -> bool:
        """Parse and journal one syslog message; False if it was not journaled (UDP overflow, or
        a full disk: a TCP reader tries again later, a UDP line is counted as dropped)."""
        if source == "udp" and self.lag_bytes > self._hard:
            self.stats.udp_overflow += 1
            return False
        try:
            record = parse_line(raw)
        except SyslogParseError as e:
            return self.reject(raw, e.reason, str(e), source)
        if not self._append(record):
            self._refused(source)
            return False
        self._accepted(source)
        return True

    def reject(self, raw: bytes, reason: str, detail: str, source: str) -> bool:
        """Dead-letter a message that never reached the parser (e.g. a frame too long); False if
        the disk refused it (as `accept_line`)."""
        if not self._append(_rejected(raw, reason, detail, source)):
            self._refused(source)
            return False
        self.stats.rejected += 1
        self.stats.rejected_by_transport[source] += 1
        return True

    def _refused(self, source: str) -> None:
        if source == "udp":
            self.stats.udp_disk_full += 1

    def _accepted(self, transport: str) -> None:
        self._journaled += 1
        self.stats.journaled_by_transport[transport] += 1
        if self._journal.fsync == "off":
            self.stats.accepted = self._journaled
        elif not self.group_commit.error:  # after a failed sync nothing counts as on disk
            self._unsynced.append((self._journal.bytes_written, self._journaled))

    def _synced(self, position: int) -> None:
        """A group commit reached `position`: the records before it count as accepted."""
        while self._unsynced and self._unsynced[0][0] <= position:
            self.stats.accepted = self._unsynced.popleft()[1]

    def _append(self, entry: InteractionRecord | RejectedLine) -> bool:
        """Journal one entry; False (and `disk_full` set) when the disk refused it."""
        try:
            self._journal.append(entry)
        except JournalFull as e:
            self.stats.journal_write_failures += 1
            if not self.disk_full:
                log.error("journal_disk_full", error=str(e), directory=str(self._journal.directory))
            self.disk_full = f"journal disk full: {e}"
            return False
        if self.disk_full:
            log.warning(
                "journal_disk_space_returned", refused_writes=self.stats.journal_write_failures
            )
            self.disk_full = ""
        self.group_commit.appended()
        self._wake()
        return True


def _rejected(raw: bytes, reason: str, detail: str, source: str) -> RejectedLine:
    return RejectedLine(
        received_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        reason=reason,
        detail=detail[:500],
        raw=raw[:RAW_KEEP].decode("utf-8", errors="replace"),
        source=source,
    )
