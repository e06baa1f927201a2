"""`decnet deploy|deckies|mutate|teardown` (through the server's API) and the local catalogue."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from domain.fleet.catalogue import ARCHETYPES, SERVICES
from domain.fleet.distros import DISTROS
from interfaces.cli.api_client import (
    ApiError,
    NamedServer,
    connect,
    default_url,
    segment,
    server_url,
    url_named_by_environment,
)

API_COMMANDS = ("deploy", "deckies", "mutate", "teardown")
CATALOGUE_COMMANDS = ("services", "archetypes", "distros")


def remote_options() -> argparse.ArgumentParser:
    """The options of every command that talks to a running server."""
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--url", type=server_url, default=default_url(), action=NamedServer)
    remote.set_defaults(url_named=url_named_by_environment())
    remote.add_argument("--token", help="bearer token (default: $DECNET_CLI_TOKEN)")
    remote.add_argument("--user", help="log in as this user (default: $DECNET_CLI_USER or admin)")
    remote.add_argument("--password", help="password (default: $DECNET_CLI_PASSWORD or a prompt)")
    return remote


def add_fleet_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register the fleet subcommands on the `decnet` parser."""
    deploy = commands.add_parser("deploy", parents=[remote], help="deploy the deckies of an INI")
    deploy.add_argument("file", type=Path)
    deckies = commands.add_parser("deckies", parents=[remote], help="list the fleet")
    deckies.add_argument("--json", action="store_true", help="print the API's JSON")
    for name, text in (("mutate", "redraw a decky's services"), ("teardown", "remove a decky")):
        commands.add_parser(name, parents=[remote], help=text).add_argument("name")
    commands.add_parser("services", help="the service catalogue and default ports")
    commands.add_parser("archetypes", help="archetypes and their services")
    commands.add_parser("distros", help="OS flavours a decky can wear")


def run_fleet_command(args: argparse.Namespace) -> int:
    """Run one fleet subcommand; exit status 0 on success, 1 when the server refused."""
    try:
        if args.command in CATALOGUE_COMMANDS:
            print_catalogue(args.command)
            return 0
        client = connect(args.url, args.token, args.user, args.password)
        return _remote(client, args)
    except BrokenPipeError:
        # The reader (`| head`) left: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1


def _read_ini(path: Path) -> str:
    """The INI's text, or an `ApiError` naming the file and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ApiError(0, f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ApiError(0, f"cannot read {path}: not UTF-8 text") from None


def _remote(client: Any, args: argparse.Namespace) -> int:
    if args.command == "deploy":
        text = _read_ini(args.file)
        _, body = client.request("POST", "/deckies/deploy", {"ini_content": text})
        print(format_deployment(body))
        return 0
    if args.command == "deckies":
        _, deckies = client.request("GET", "/deckies")
        print(json.dumps(deckies, indent=2) if args.json else format_deckies(deckies))
        return 0
    if args.command == "mutate":
        _, body = client.request("POST", f"/deckies/{segment(args.name)}/mutate")
        print(f"{body['message']}: {', '.join(body['services'])}")
        return 0
    client.request("DELETE", f"/deckies/{segment(args.name)}")
    print(f"Tore down {args.name}")
    return 0


def format_deployment(body: dict[str, Any]) -> str:
    """The deploy answer: new deckies, then the kept ones and the ignored settings, if any."""
    lines = [f"{body['message']}: {', '.join(body['deckies']) or '-'}"]
    if body.get("unchanged"):
        lines.append(f"  unchanged: {', '.join(body['unchanged'])}")
    if body.get("ignored"):
        lines.append(f"  ignored settings (no emulator reads them): {', '.join(body['ignored'])}")
    return "\n".join(lines)


def format_deckies(deckies: list[dict[str, Any]]) -> str:
    """A table: name, ip, status, services with their ports, next mutation."""
    rows: list[tuple[str, ...]] = [("NAME", "IP", "STATUS", "SERVICES", "NEXT MUTATION")]
    for d in deckies:
        services = " ".join(f"{s}:{d['ports'].get(s, '-')}" for s in d["services"])
        rows.append((d["name"], d["ip"], d["status"], services, d["next_mutation_at"] or "-"))
    return _table(rows)


def print_catalogue(which: str) -> None:
    """Print the built-in catalogue the INI refers to (no server needed)."""
    rows: list[tuple[str, ...]]
    if which == "services":
        rows = [("SERVICE", "PORT", "PROTO", "BANNER")]
        rows += [(s.name, str(s.port), s.transport, s.banner) for s in SERVICES.values()]
    elif which == "archetypes":
        rows = [("ARCHETYPE", "SERVICES", "OS", "DISTRO", "MUTATION POOL")]
        rows += [
            (a.slug, ", ".join(a.services), a.nmap_os, a.distro, ", ".join(a.pool))
            for a in ARCHETYPES.values()
        ]
    else:
        rows = [("DISTRO", "NAME", "OS", "HOSTNAMES")]
        rows += [(d.slug, d.display_name, d.nmap_os, d.hostname_style) for d in DISTROS.values()]
    print(_table(rows))


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
