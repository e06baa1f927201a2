"""Rebuild read models in worker processes, so their Python work uses every core (ADR 0023).

A rebuild is one interpreter's work per model: decoding the events, building rows, counting.
In one process every model shares one core, whatever the machine has. Here the models are
split into groups, each rebuilt by its own process (`python -m interfaces.cli.rebuild_workers
NAME...`): each drives its models' shadows and swaps them in exactly as `ProjectionRunner.rebuild`
does in process (positions table, row locks, one swap transaction per model), so a worker that
dies leaves shadows that the next rebuild resumes from their tracked positions.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence

import anyio

from infrastructure.logging import configure_logging
from infrastructure.settings import load_settings
from interfaces.bootstrap import open_core
from projections.catalog import FACTORIES
from projections.runner import ProjectionRunner
from projections.schema import live_schema

# Relative Python cost of each model's rebuild (profiled at 200,000 records): the planner puts
# the heaviest first, each on the least loaded worker. Unlisted models cost next to nothing.
WEIGHTS = {"logs": 4.0, "histogram": 1.5, "attackers": 2.0, "merkle": 1.0, "history": 0.5}
RESULT = "rebuilt"  # a worker's stdout line: `rebuilt <model> <position>`


class WorkerFailed(RuntimeError):
    """A worker process exited with an error (its shadows resume on the next rebuild)."""


def plan(names: Sequence[str], workers: int) -> list[list[str]]:
    """Split models into at most `workers` groups of similar cost (heaviest first, greedy).

    Models that read the same pages (same topics, page size and undecoded topics: the
    histogram and the attackers) stay in one worker, where the runner reads and decodes each
    page once for both (ADR 0023).
    """
    units: dict[tuple[object, ...], list[str]] = {}
    for name in names:
        units.setdefault(_pages_of(name), []).append(name)
    groups: list[list[str]] = [[] for _ in range(max(1, min(workers, len(units))))]
    loads = [0.0] * len(groups)
    for unit in sorted(units.values(), key=lambda u: -_weight(u)):
        i = loads.index(min(loads))
        groups[i].extend(unit)
        loads[i] += _weight(unit)
    return [g for g in groups if g]


def _weight(unit: list[str]) -> float:
    return sum(WEIGHTS.get(name, 0.1) for name in unit)


def _pages_of(name: str) -> tuple[object, ...]:
    """What decides the pages a model's rebuild reads; a model reading ahead shares none."""
    projection = FACTORIES[name](live_schema(name))
    if projection.read_ahead:
        return (name,)
    return (tuple(projection.topics), projection.batch_events, projection.undecoded)


async def rebuild_in_workers(
    names: Sequence[str],
    workers: int,
    env: Mapping[str, str] | None = None,
    on_rebuilt: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild `names` in up to `workers` processes; the position each went live at.

    `on_rebuilt(name, position)` hears each model as its worker swaps it in.
    """
    results: dict[str, int] = {}
    failures: list[str] = []

    async def one(group: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "interfaces.cli.rebuild_workers",
            *group,
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ if env is None else env),
        )
        assert process.stdout is not None  # PIPE was asked for
        async for raw in process.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            if word == RESULT:
                name, _, position = rest.partition(" ")
                results[name] = int(position)
                if on_rebuilt is not None:
                    on_rebuilt(name, int(position))
            else:  # the worker's own log lines
                sys.stderr.write(raw.decode(errors="replace"))
        if await process.wait() != 0:
            failures.append(f"{' '.join(group)}: exit {process.returncode}")

    async with anyio.create_task_group() as tg:
        for group in plan(names, workers):
            tg.start_soon(one, group)
    if failures:
        raise WorkerFailed("; ".join(failures))
    return results


async def _work(names: list[str]) -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    async with open_core(settings) as core:
        # Only this group's models: setup touches nothing another worker is rebuilding.
        projections = [FACTORIES[n](live_schema(n)) for n in names]
        runner = ProjectionRunner(core.store, core.pool, projections, factories=FACTORIES)
        await runner.setup()

        async def one(name: str) -> None:
            position = await runner.rebuild(name)
            print(f"{RESULT} {name} {position}", flush=True)

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(one, name)


def main(argv: list[str] | None = None) -> int:
    """The worker: rebuild the named models and swap them in; print one line per model."""
    names = list(sys.argv[1:] if argv is None else argv)
    anyio.run(_work, names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
