"""Group commit: journal appends become durable in groups, one fdatasync (in a thread) per group.

While one fdatasync runs in a worker thread, new appends gather; when it returns, the next one
covers all of them. The event loop never blocks on the disk, and under load one sync serves every
writer that appended meanwhile. With the `off` policy nothing is synced and nobody waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable

import structlog

from infrastructure.collector.journal import Journal
from infrastructure.collector.stats import CollectorStats

log = structlog.get_logger()


class JournalSyncFailed(Exception):
    """fdatasync reported an error: appends since the last good sync may not be on disk."""


class GroupCommit:
    """Tracks how far the journal is on disk and lets writers wait for their own position."""

    def __init__(
        self,
        journal: Journal,
        stats: CollectorStats,
        on_synced: Callable[[int], None] = lambda position: None,
    ) -> None:
        self._journal = journal
        self._stats = stats
        self._on_synced = on_synced
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.error = ""

    @property
    def policy(self) -> str:
        """`batch` (group-committed fdatasync) or `off`."""
        return self._journal.fsync

    def appended(self) -> None:
        """New appends exist: make sure a group commit will cover them (never waits)."""
        if self._task is not None or self.error or not self._journal.unsynced:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: `Journal.close` syncs them
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def durable(self, position: int) -> None:
        """Return once the journal is on disk up to `position` (at once with the `off` policy)."""
        if self._journal.fsync == "off" or self._journal.synced_bytes >= position:
            return
        if self.error:
            raise JournalSyncFailed(self.error)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (position, next(self._order), future))
        self.appended()
        await future

    async def _run(self) -> None:
        try:
            while self._journal.unsynced:
                plan = self._journal.sync_plan()
                started = time.perf_counter()
                try:
                    await asyncio.to_thread(self._journal.sync, plan)
                except OSError as e:
                    self._fail(e)
                    return
                self._journal.synced(plan)
                self._stats.journal_syncs += 1
                self._stats.journal_sync_seconds += time.perf_counter() - started
                self._on_synced(self._journal.synced_bytes)
                self._release(self._journal.synced_bytes)
        finally:
            self._task = None

    def _release(self, synced: int) -> None:
        while self._waiters and self._waiters[0][0] <= synced:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)

    def _fail(self, error: OSError) -> None:
        # After a failed fdatasync the kernel may have dropped the dirty pages, so a retry could
        # "succeed" without the data: stop promising durability instead (health says failing).
        self.error = f"journal fdatasync failed: {error}"
        self._stats.journal_sync_failures += 1
        log.error("journal_fsync_failed", error=str(error))
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(JournalSyncFailed(self.error))
        self._waiters.clear()
