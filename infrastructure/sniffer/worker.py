"""`sniffer_worker`: passive TCP SYN and TLS ClientHello fingerprints of traffic to deckies.

A daemon thread reads the capture (blocking I/O has no place on the event loop) and runs the
pure analysis; each observation crosses to the loop with `call_soon_threadsafe`, and a task
there hands it to the sink. A semaphore bounds what is in flight: when the sink lags, the
capture thread drops and counts instead of waiting, so capture never stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable

import structlog

from application.ports import ComponentHealth, RecordSink
from infrastructure.sniffer.analyzer import Observation, PacketAnalyzer, SnifferStats
from infrastructure.sniffer.capture import (
    CaptureUnavailableError,
    PacketSource,
    SourceOpener,
    open_scapy_source,
)
from infrastructure.sniffer.dedup import SeenWindow
from infrastructure.sniffer.packets import ipv4_only
from infrastructure.sniffer.records import DeckyNamer, build_record

log = structlog.get_logger()

POLL_S = 0.2  # how long the capture thread waits before re-checking stop and the decky set
JOIN_TIMEOUT_S = 2.0
DRAIN_TIMEOUT_S = 1.0


class SnifferWorker:
    """Captures on one interface; `start`/`stop` from the event loop, `health` any time."""

    def __init__(
        self,
        sink: RecordSink,
        interface: str = "lo",
        *,
        decky_ips: Callable[[], Iterable[str]],
        dedup_window_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        decky_name: DeckyNamer | None = None,
        opener: SourceOpener = open_scapy_source,
        queue_size: int = 1024,
        refresh_s: float = 2.0,
        max_fingerprints: int = 20_000,
    ) -> None:
        self._sink = sink
        self.interface = interface
        self._decky_ips = decky_ips
        self._decky_name = decky_name
        self._opener = opener
        self._refresh_s = refresh_s
        self.stats = SnifferStats()
        dedup = SeenWindow(dedup_window_s, max_fingerprints)
        self._analyzer = PacketAnalyzer(dedup, clock, self.stats)
        self._slots = threading.BoundedSemaphore(queue_size)
        self._stop = threading.Event()
        self._targets: frozenset[str] = frozenset()
        self._source: PacketSource | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[Observation] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._disabled: str | None = None
        self._failure: str | None = None
        self._stopped = False

    async def start(self) -> None:
        """Open the capture and start the thread; on failure report `disabled`, never raise."""
        if self._thread is not None or self._disabled is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._stop.clear()  # a worker may be started again after stop()
        self._stopped = False
        self._targets = self._read_targets()
        try:
            self._source = await asyncio.to_thread(self._opener, self.interface)
        except CaptureUnavailableError as e:
            self._disable(str(e))
            return
        except Exception as e:  # any opener bug must leave the control plane up
            self._disable(f"capture failed to start: {type(e).__name__}: {e}")
            return
        self._thread = threading.Thread(target=self._capture, name="sniffer", daemon=True)
        self._thread.start()
        self._tasks = [asyncio.create_task(self._deliver()), asyncio.create_task(self._refresh())]
        log.info("sniffer_started", interface=self.interface, deckies=len(self._targets))

    async def stop(self) -> None:
        """Stop capturing, deliver what is already queued (briefly), release the socket."""
        self._stop.set()
        self._stopped = True
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("sniffer_thread_join_timeout", timeout_s=JOIN_TIMEOUT_S)
        await self._drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def health(self) -> ComponentHealth:
        """`ok` with counters, `disabled` with the reason, or `failing` if capture died."""
        if self._failure is not None:
            return ComponentHealth("failing", self._failure)
        if self._disabled is not None:
            return ComponentHealth("disabled", self._disabled)
        if self._stopped or self._thread is None:
            return ComponentHealth("disabled", "stopped" if self._stopped else "not started")
        if not self._thread.is_alive():
            return ComponentHealth("failing", "capture thread exited")
        return ComponentHealth("ok", self._summary())

    def _summary(self) -> str:
        s = self.stats
        mode = self._source.filter_mode if self._source else "?"
        return (
            f"capturing on {self.interface} ({mode} filter) for {len(self._targets)} deckies: "
            f"{s.packets} packets, {s.syn_fingerprints} SYN fingerprints, "
            f"{s.tls_hellos} TLS hellos, {s.suppressed} repeats suppressed, "
            f"{s.dropped} dropped (sink lagging), {s.submit_errors} submit errors"
        )

    def _disable(self, reason: str) -> None:
        self._disabled = reason
        log.warning("sniffer_disabled", interface=self.interface, reason=reason)

    # --- capture thread -------------------------------------------------------------------

    def _capture(self) -> None:
        source = self._source
        assert source is not None
        applied: frozenset[str] | None = None
        try:
            while not self._stop.is_set():
                targets = self._targets
                if targets is not applied:
                    source.set_targets(targets)
                    applied = targets
                if source.wait(POLL_S):
                    self._process(source.read(), targets)
        except Exception as e:
            self._failure = f"capture thread died: {type(e).__name__}: {e}"
            log.exception("sniffer_capture_failed", interface=self.interface)
        finally:
            source.close()

    def _process(self, packet: bytes | None, targets: frozenset[str]) -> None:
        self.stats.frames += 1
        if packet is not None:
            for observation in self._analyzer.analyze(packet, targets):
                self._hand_over(observation)

    def _hand_over(self, observation: Observation) -> None:
        if not self._slots.acquire(blocking=False):
            self.stats.dropped += 1
            # Forget it, so the next sighting is reported rather than suppressed unseen.
            self._analyzer.dedup.forget(observation.dedup_key)
            return
        assert self._loop is not None
        assert self._queue is not None
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, observation)
        except RuntimeError:  # the loop is closed: the process is going down
            self._slots.release()
            self.stats.dropped += 1

    # --- event loop -----------------------------------------------------------------------

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            observation = await self._queue.get()
            try:
                await self._submit(observation)
            finally:
                self._slots.release()
                self._queue.task_done()

    async def _submit(self, observation: Observation) -> None:
        try:
            record = build_record(observation, self._decky_name)
            await self._sink.submit(record)
        except Exception:  # one lost record must not end delivery; the log keeps the evidence
            self.stats.submit_errors += 1
            log.exception("sniffer_submit_failed", event_type=observation.event_type)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            targets = self._read_targets()
            if targets != self._targets:
                self._targets = targets  # one reference swap: the thread sees old or new set

    def _read_targets(self) -> frozenset[str]:
        try:
            addresses = list(self._decky_ips())
        except Exception:  # keep the last known set rather than stop fingerprinting
            log.exception("sniffer_decky_ips_failed")
            return self._targets
        return ipv4_only(addresses)

    async def _drain(self) -> None:
        if self._queue is None or not self._tasks:
            return
        await asyncio.sleep(0)  # let hand-overs scheduled by the thread land in the queue
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self._queue.join()
