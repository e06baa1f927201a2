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
    """Import, then bring the read models up to date so `/logs` shows the records (left to the
    leading projector when a server or a split projector runs on the database)."""
    size = await anyio.to_thread.run_sync(lambda: path.stat().st_size if path.is_file() else -1)
    if size < 0:
        print(f"decnet: no such file: {path}", file=sys.stderr)
        return 2
    async with open_local(settings, must_lead=False) as local:
        ingest = local.ingest
        with tqdm(total=size, unit="B", unit_scale=True, file=sys.stderr) as bar:

            def progress(offset: int) -> None:
                bar.update(offset - bar.n)

            summary = await anyio.to_thread.run_sync(import_file, path, ingest, progress)
        if local.leading:
            for name in local.runner.projections:
                await local.runner.catch_up(name)
        else:
            print("the projector leading this database projects them", file=sys.stderr)
    print(
        f"accepted {summary.accepted}, dead-lettered {summary.dead_lettered} "
        f"({summary.batches_written} batches written, "
        f"{summary.batches_already_present} already present)"
    )
    return 0
