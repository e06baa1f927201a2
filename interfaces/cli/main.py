"""The `decnet` command."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

import anyio

from infrastructure.settings import AppSettings, settings_help
from interfaces.cli.attack_sim import add_attack_sim_command, run_attack_sim
from interfaces.cli.dead_letters import add_dead_letters_command, run_dead_letters
from interfaces.cli.evidence import add_evidence_commands, run_evidence
from interfaces.cli.fleet import (
    API_COMMANDS,
    CATALOGUE_COMMANDS,
    add_fleet_commands,
    remote_options,
    run_fleet_command,
)
from interfaces.cli.history import HISTORY_COMMANDS, add_history_commands, run_history_command
from interfaces.cli.lifecycle import LOOP, run_with_settings
from interfaces.cli.login import add_login_command, run_login
from interfaces.cli.projections import add_projection_commands

# The split topology: each runs one role beside the others (docs/operations.md).
PROCESSES = {
    "api": "run the HTTP API and SSE only (any number of replicas)",
    "projector": "run every projection (one leads, the others stand by)",
    "collector": "run the syslog listeners, journal and batcher",
    "fleet": "run the reconciler, scheduler, runtime and sniffer (one leads)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decnet", description="decnet-es control plane")
    parser.add_argument("--version", action="version", version=f"decnet {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="run the API, projections and workers",
        description="Run the API, the collector, the projections and the workers in one process.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, text in PROCESSES.items():
        commands.add_parser(name, help=text)
    remote = remote_options()
    add_login_command(commands, remote)
    add_projection_commands(commands, remote)
    add_history_commands(commands, remote)
    ingest = commands.add_parser("ingest", help="import RFC 5424 or JSON-lines log files")
    ingest.add_argument("file", type=Path)
    add_fleet_commands(commands, remote)
    add_attack_sim_command(commands)
    add_dead_letters_command(commands, remote)
    add_evidence_commands(commands, remote)
    emulate = commands.add_parser(
        "emulate", help="run one service emulator in a Docker decky (set by the Docker runtime)"
    )
    emulate.add_argument("service", help="the service to serve, e.g. ssh, http, ftp")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulate":
        # Inside a Docker decky: its own environment, no server settings. Imported here, as the
        # server's modules are below: the clients of a server start in a fraction of a second.
        from interfaces.cli.emulate import run_emulate

        return run_emulate(args)
    if args.command == "evidence":
        return run_evidence(args)  # no database or settings: offline, or the API's
    if args.command == "attack-sim":
        return run_attack_sim(args)  # a client of a running server, like the fleet commands
    if args.command in HISTORY_COMMANDS:
        return run_history_command(args)
    if args.command == "login":
        return run_login(args)
    if args.command == "dead-letters":
        return run_dead_letters(args)
    if args.command in (*API_COMMANDS, *CATALOGUE_COMMANDS):
        # Clients of a running server: they need none of the server's settings.
        return run_fleet_command(args)
    return run_with_settings("decnet", lambda settings: _run_local(args, settings))


def _version() -> str:
    try:
        return metadata.version("decnet-es")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _run_local(args: argparse.Namespace, settings: AppSettings) -> int:
    if args.command == "serve":
        from interfaces.cli.serve import serve

        return int(anyio.run(serve, settings, backend_options=LOOP))
    if args.command == "collector":
        # The syslog intake alone: none of the server stacks `processes` imports (ADR 0024).
        from interfaces.cli.collector import run_collector

        return int(anyio.run(run_collector, settings, backend_options=LOOP))
    if args.command in PROCESSES:
        from interfaces.cli.processes import run_process

        return int(anyio.run(run_process, settings, args.command, backend_options=LOOP))
    if args.command == "ingest":
        from interfaces.cli import ingest

        return int(anyio.run(ingest.run, settings, args.file))
    from interfaces.cli import projections

    return int(anyio.run(projections.run, settings, args))


if __name__ == "__main__":
    sys.exit(main())
