"""`decnet projections rebuild|status`: replay read models from the event store."""

from __future__ import annotations

import sys

from tqdm import tqdm

from infrastructure.settings import AppSettings
from interfaces.bootstrap import bootstrap


async def run(settings: AppSettings, action: str, name: str | None) -> int:
    """Rebuild one or all read models with a progress bar, or print positions."""
    async with bootstrap(settings) as services:
        runner = services.runner
        assert runner is not None, "bootstrap builds the runner"
        head = services.core.store.head()
        if action == "status":
            for projection, position in sorted(runner.positions.items()):
                print(f"{projection:24} {position:>12} / {head}")
            return 0
        names = [name] if name else list(runner.projections)
        unknown = [n for n in names if n not in runner.projections]
        if unknown:
            print(
                f"decnet: unknown read model {unknown[0]!r}; have: {', '.join(runner.projections)}",
                file=sys.stderr,
            )
            return 2
        for projection in names:
            with tqdm(total=head, desc=projection, unit="ev", file=sys.stderr) as bar:

                def progress(position: int, _head: int, bar: tqdm = bar) -> None:
                    bar.update(position - bar.n)

                await runner.rebuild(projection, progress)
                bar.update(head - bar.n)
    return 0
