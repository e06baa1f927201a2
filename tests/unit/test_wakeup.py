"""A worker's failure during a stop is the stop's doing and is not logged as an error; one
while running is, and the worker goes on."""

from __future__ import annotations

import anyio
import pytest
import structlog.testing

from application.wakeup import Wakeup, repeat, stopping

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The workers run on asyncio."""
    return "asyncio"


async def test_stopping_only_once_the_worker_is_cancelled() -> None:
    seen: list[bool] = []

    async def worker() -> None:
        seen.append(stopping())
        try:
            await anyio.sleep(10)
        finally:
            seen.append(stopping())

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert seen == [False, True]


async def test_a_step_failing_during_a_stop_is_not_logged() -> None:
    """The step's thread gives up (shielded, as a worker thread is) once the stop began."""
    started = anyio.Event()

    async def step() -> None:
        with anyio.CancelScope(shield=True):
            started.set()
            await anyio.sleep(0.1)
        raise OSError("pool closed under the waiting thread")

    wakeup = Wakeup()
    wakeup.bind()
    with structlog.testing.capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            tg.start_soon(repeat, step, wakeup, 1.0, "step_failed")
            await started.wait()
            tg.cancel_scope.cancel()
    assert [e for e in logs if e["event"] == "step_failed"] == []


async def test_a_step_failing_while_running_is_logged_and_retried() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        raise OSError("database away")

    wakeup = Wakeup()
    wakeup.bind()
    with structlog.testing.capture_logs() as logs:
        with anyio.move_on_after(0.25):
            await repeat(step, wakeup, 0.1, "step_failed")
    assert calls >= 2
    assert len([e for e in logs if e["event"] == "step_failed"]) == calls
