"""`decnet projections status|rebuild` and `decnet views`: through the running server, or directly.

With a server up, the commands go through its API (so its projector does the work and readers
never see a gap) and follow the progress on `GET /projections` / `GET /views`; with none, they
open the database themselves and drive the same rebuild and view machinery to completion.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import msgspec
from tqdm import tqdm

from application.readmodels.status import projection_statuses
from domain.observations.timeparse import parse_time_param
from domain.readmodels.control import RebuildInProgressError
from domain.shared.meta import SYSTEM
from infrastructure.leadership import LeadershipTakenError
from infrastructure.settings import AppSettings
from interfaces.cli.api_client import ApiClient, ApiError, connect, segment
from interfaces.cli.tables import print_table

if TYPE_CHECKING:
    from interfaces.cli.local_readmodels import LocalReadModels

POLL_S = 0.5
STATUS_COLUMNS = ("name", "state", "position", "head", "lag_events", "lag_seconds", "rebuild")
VIEW_COLUMNS = (
    "label",
    "state",
    "until_position",
    "until_time",
    "progress",
    "rows",
    "created_by_username",
)


def add_projection_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `projections` and `views` on the `decnet` parser."""
    projections = commands.add_parser("projections", help="read-model status and rebuilds")
    sub = projections.add_subparsers(dest="action", required=True)
    sub.add_parser("status", parents=[remote], help="each read model's state, position and lag")
    rebuild = sub.add_parser(
        "rebuild", parents=[remote], help="rebuild read models without downtime, or build a view"
    )
    rebuild.add_argument("name", nargs="?", help="one read model (default: every one)")
    rebuild.add_argument("--until", help="build an as-of view until a position or a time")
    rebuild.add_argument("--as", dest="label", help="the view's label (with --until)")
    rebuild.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="with no server running: processes rebuilding models side by side (default: cores)",
    )
    views = commands.add_parser("views", parents=[remote], help="list or drop as-of views")
    views.add_argument("verb", nargs="?", choices=["list", "drop"], default="list")
    views.add_argument("label", nargs="?")


def server_up(url: str) -> bool:
    """Whether an HTTP server answers at `url` (any status, even 401, means up)."""
    try:
        urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/health", timeout=2)  # noqa: S310 - the operator's URL
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
    return True


async def run(settings: AppSettings, args: argparse.Namespace) -> int:
    """Run `projections …` or `views …`; 0 on success, 1 refused, 2 bad usage."""
    if (
        args.command == "projections"
        and args.action == "rebuild"
        and bool(args.until) != bool(args.label)
    ):
        print("decnet: --until and --as go together", file=sys.stderr)
        return 2
    try:
        if server_up(args.url):
            client = connect(args.url, args.token, args.user, args.password)
            return await anyio.to_thread.run_sync(_remote, client, args)
        if args.url_named:
            print(
                f"decnet: no server answers at {args.url} (named by --url or DECNET_CLI_URL);"
                " leave both unset to work on this machine's data directory without a server",
                file=sys.stderr,
            )
            return 1
        # The server's composition (~1 s of imports) only when this command runs without one:
        # `decnet --help` and the clients of a server start without it.
        from infrastructure.database import EmbeddedPostgres
        from interfaces.cli.local_readmodels import open_local

        if settings.database_url is None and not EmbeddedPostgres.made_in(settings.data_dir):
            # Not a server's data here: working "locally" would make an empty database to show.
            print(
                f"decnet: no server answers at {args.url}, and {settings.data_dir} holds no"
                " database: run this where `decnet serve` keeps its data (DECNET_DATA_DIR), set"
                " DECNET_DATABASE_URL, or give the server's address with --url",
                file=sys.stderr,
            )
            return 1
        async with open_local(settings) as local:
            return await _local(local, args)
    except LeadershipTakenError as e:
        print(
            f"decnet: {e}; no server answers at {args.url}: give its address with --url",
            file=sys.stderr,
        )
        return 1
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1


# -- through the server ----------------------------------------------------------------------


def _remote(client: ApiClient, args: argparse.Namespace) -> int:
    if args.command == "views":
        return _remote_views(client, args)
    if args.action == "status":
        print_table(client.request("GET", "/projections")[1], STATUS_COLUMNS)
        return 0
    if args.until:
        body = {"label": args.label, "until": _until(args.until)}
        client.request("POST", "/views", body)
        _follow_view(lambda: _view_of(client, args.label))
        return 0
    listed = client.request("GET", "/projections")[1]
    names = [args.name] if args.name else [p["name"] for p in listed]
    for name in names:
        client.request("POST", f"/projections/{segment(name)}/rebuild")
        _follow_rebuild(name, lambda n=name: _status_of(client, n))
    return 0


def _remote_views(client: ApiClient, args: argparse.Namespace) -> int:
    if args.verb == "drop":
        if not args.label:
            print("decnet: views drop LABEL", file=sys.stderr)
            return 2
        client.request("DELETE", f"/views/{segment(args.label)}")
        print(f"dropped view {args.label}")
        return 0
    print_table(client.request("GET", "/views")[1], VIEW_COLUMNS)
    return 0


def _status_of(client: ApiClient, name: str) -> dict[str, Any]:
    return next(p for p in client.request("GET", "/projections")[1] if p["name"] == name)


def _view_of(client: ApiClient, label: str) -> dict[str, Any]:
    return next(v for v in client.request("GET", "/views")[1] if v["label"] == label)


def _follow_rebuild(name: str, status: Any) -> None:
    """A progress bar from the status route until the rebuilt model is live."""
    with tqdm(desc=name, unit="ev", file=sys.stderr) as bar:
        seen_rebuild = False
        while True:
            current = status()
            rebuild = current["rebuild"]
            if rebuild:
                seen_rebuild = True
                bar.total = rebuild["head"]
                bar.update(rebuild["position"] - bar.n)
            elif seen_rebuild or current["state"] == "live":
                bar.total = current["head"]
                bar.update(current["head"] - bar.n)
                return
            time.sleep(POLL_S)


def _follow_view(view: Any) -> None:
    with tqdm(total=100, unit="%", file=sys.stderr) as bar:
        while (current := view())["state"] == "building":
            bar.update(int(current["progress"] * 100) - bar.n)
            time.sleep(POLL_S)
        bar.update(100 - bar.n)
    if current["state"] != "ready":
        raise ApiError(0, f"view {current['label']} {current['state']}")


def _until(text: str) -> int | str:
    return int(text) if text.isdigit() else text


# -- directly on the database ------------------------------------------------------------------


async def _local(local: LocalReadModels, args: argparse.Namespace) -> int:
    if args.command == "views":
        return await _local_views(local, args)
    if args.action == "status":
        rows = await projection_statuses(local.status_sources())
        print_table([_plain(r) for r in rows], STATUS_COLUMNS)
        return 0
    if args.until:
        until = _until(args.until)
        moment = parse_time_param(until) if isinstance(until, str) else until
        await anyio.to_thread.run_sync(
            local.commands.create_view, SYSTEM, args.label, moment if moment is not None else 0
        )
        await local.build_views()
        print(f"view {args.label} ready")
        return 0
    names = [args.name] if args.name else list(local.runner.projections)
    if len(names) > 1 and args.workers > 1:
        return await _local_in_workers(local, names, args.workers)
    for name in names:
        # A rebuild a stopped server left pending is simply driven to completion here.
        with contextlib.suppress(RebuildInProgressError):
            await anyio.to_thread.run_sync(local.commands.request_rebuild, SYSTEM, name)
        with tqdm(desc=name, unit="ev", file=sys.stderr) as bar:

            def progress(position: int, head: int, bar: tqdm = bar) -> None:
                bar.total = head
                bar.update(position - bar.n)

            position = await local.runner.rebuild(name, progress)
        await anyio.to_thread.run_sync(local.commands.complete_rebuild, name, position)
    return 0


async def _local_in_workers(local: LocalReadModels, names: list[str], workers: int) -> int:
    """Every model rebuilt by worker processes, side by side on the cores (ADR 0023)."""
    from interfaces.cli.rebuild_workers import WorkerFailed, rebuild_in_workers

    for name in names:
        with contextlib.suppress(RebuildInProgressError):
            await anyio.to_thread.run_sync(local.commands.request_rebuild, SYSTEM, name)
    print(f"rebuilding {len(names)} read models in {min(workers, len(names))} processes")
    try:
        # The workers use the database this command opened (the embedded one is not theirs
        # to start).
        env = {**os.environ, "DECNET_DATABASE_URL": local.database_url}
        positions = await rebuild_in_workers(names, workers, env)
    except WorkerFailed as e:
        print(f"decnet: rebuild worker failed ({e}); run it again to resume", file=sys.stderr)
        return 1
    for name in names:
        await anyio.to_thread.run_sync(local.commands.complete_rebuild, name, positions[name])
        print(f"{name}: live at position {positions[name]}")
    return 0


async def _local_views(local: LocalReadModels, args: argparse.Namespace) -> int:
    if args.verb == "drop":
        await anyio.to_thread.run_sync(local.commands.drop_view, SYSTEM, args.label)
        await local.build_views()
        print(f"dropped view {args.label}")
        return 0
    print_table([_plain(v) for v in await local.views.infos()], VIEW_COLUMNS)
    return 0


def _plain(row: Any) -> dict[str, Any]:
    return dict(msgspec.to_builtins(row))
