"""`decnet serve`'s intake in a child process, so ingest never waits on the projections' GIL.

The child (`interfaces.cli.intake`) runs the syslog listeners, the journal and the batcher; it
appends to the same database, whose notifications wake this process's projection runner. Its
counters come back on request (a line on its stdin, a JSON line on its stdout) and show on
this process's `/health` and `/metrics`. If it dies, the server stops with status 1 (a
supervisor restarts the whole server; accepted records wait in the journal meanwhile): see
docs/adr/0024-serve-intake-process.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import msgspec
import structlog

from application.ports import ComponentHealth
from infrastructure.collector.report import DECODER, IntakeReport
from interfaces.services import Services
from interfaces.store_core import Probe

log = structlog.get_logger()
READY_WAIT_S = 60.0
REPORT_WAIT_S = 5.0
STOP_WAIT_S = 15.0
LINE_LIMIT = 1 << 20


class IntakeStartError(RuntimeError):
    """The intake child exited or stayed silent before it listened."""


class IntakeProcess:
    """The child process: start it, follow its reports, stop it (or notice it died)."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._process: asyncio.subprocess.Process | None = None
        self._waiting: list[asyncio.Future[None]] = []
        self.report: IntakeReport | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id once started."""
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Spawn the child and wait until its first report says it listens."""
        env = os.environ | {
            "DECNET_DATABASE_URL": self._database_url,
            "DECNET_METRICS_PORT": "",  # this process serves /metrics, with the child's counters
        }
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "interfaces.cli.intake",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=LINE_LIMIT,
        )
        try:
            async with asyncio.timeout(READY_WAIT_S):
                ready = await self._next_report()
        except TimeoutError:
            await self.stop()
            raise IntakeStartError(
                f"the intake process did not listen in {READY_WAIT_S:.0f} s"
            ) from None
        if not ready:
            code = await self._process.wait()
            raise IntakeStartError(f"the intake process exited with status {code} at start")
        log.info("decnet_intake_started", pid=self._process.pid)

    async def follow(self) -> int:
        """Keep the latest report until the child exits; return its exit status."""
        assert self._process is not None, "start() first"
        try:
            while await self._next_report():
                self._answered()
        finally:
            self._answered()
        return await self._process.wait()

    async def fresh(self) -> IntakeReport | None:
        """A report made after this call (the last one if the child does not answer in time)."""
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            return self.report
        answered = asyncio.get_running_loop().create_future()
        self._waiting.append(answered)
        try:
            process.stdin.write(b"?\n")
            await process.stdin.drain()
            async with asyncio.timeout(REPORT_WAIT_S):
                await answered
        except (TimeoutError, ConnectionError):
            log.warning("intake_report_late", pid=process.pid)
        return self.report

    def _answered(self) -> None:
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_WAIT_S; closes its stdin either way (after the
        signal: the child reads the end of its stdin as its parent gone unless asked to stop)."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(STOP_WAIT_S):
                await process.wait()
        except TimeoutError:
            log.error("decnet_intake_killed", pid=process.pid, after_s=STOP_WAIT_S)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _next_report(self) -> bool:
        """Read one report line; False at end of file (the child exited)."""
        assert self._process is not None, "start() first"
        assert self._process.stdout is not None, "spawned with a stdout pipe"
        line = await self._process.stdout.readline()
        if not line:
            return False
        try:
            self.report = DECODER.decode(line)
        except msgspec.DecodeError:
            log.warning("intake_report_unreadable", line=line[:200].decode(errors="replace"))
        return True

    def wire(self, services: Services) -> None:
        """Show the child's counters and health on this process's /health and /metrics."""
        services.intake = self.fresh
        health = services.core.health
        health["collector_worker"] = self._collector_probe()
        local = health.get("ingestion_worker")
        health["ingestion_worker"] = self._ingestion_probe(local)

    def _collector_probe(self) -> Probe:
        async def probe() -> ComponentHealth:
            report = await self.fresh()
            return self._alive() or (report or _NO_REPORT).collector

        return probe

    def _ingestion_probe(self, local: Probe | None) -> Probe:
        """The intake's batcher, and this process's (its emulators' journal): worst first."""

        async def probe() -> ComponentHealth:
            report = await self.fresh()
            child = self._alive() or (report or _NO_REPORT).ingestion
            mine = await local() if local is not None else ComponentHealth("ok")
            if child.status != "ok" or (mine.status != "ok" and mine.status != "disabled"):
                return child if child.status != "ok" else mine
            return ComponentHealth("ok", f"intake: {child.detail}; emulators: {mine.detail}")

        return probe

    def _alive(self) -> ComponentHealth | None:
        process = self._process
        if process is None or process.returncode is not None:
            status = None if process is None else process.returncode
            return ComponentHealth("failing", f"the intake process exited (status {status})")
        return None


_NO_REPORT = IntakeReport(
    journaled={},
    dead_lettered={},
    accepted=0,
    udp_overflow=0,
    backlog_bytes=0,
    collector_status="failing",
    collector_detail="no readable report from the intake process yet",
    ingestion_status="failing",
    ingestion_detail="no readable report from the intake process yet",
)
