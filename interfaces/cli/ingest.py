"""`decnet ingest FILE`: import existing DECNET logs with a progress bar and a summary."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio.to_thread
from tqdm import tqdm

from infrastructure.collector.importer import import_file
from infrastructure.settings import AppSettings
from interfaces.cli.local_readmodels import open_local


async def run(settings: AppSettings, path: Path) -> int:
    """Import, then bring the read models up to date so `/logs` shows the records."""
    size = await anyio.to_thread.run_sync(lambda: path.stat().st_size if path.is_file() else -1)
    if size < 0:
        print(f"decnet: no such file: {path}", file=sys.stderr)
        return 2
    async with open_local(settings) as local:
        ingest = local.ingest
        with tqdm(total=size, unit="B", unit_scale=True, file=sys.stderr) as bar:

            def progress(offset: int) -> None:
                bar.update(offset - bar.n)

            summary = await anyio.to_thread.run_sync(import_file, path, ingest, progress)
        for name in local.runner.projections:
            await local.runner.catch_up(name)
    print(
        f"accepted {summary.accepted}, dead-lettered {summary.dead_lettered} "
        f"({summary.batches_written} batches written, "
        f"{summary.batches_already_present} already present)"
    )
    return 0
