"""`decnet dead-letters`: the lines the collector could not parse, through the server's API."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from interfaces.cli.api_client import ApiError, connect

RAW_WIDTH = 80


def add_dead_letters_command(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `decnet dead-letters` on the `decnet` parser (`remote`: server options)."""
    dead = commands.add_parser(
        "dead-letters", parents=[remote], help="lines the collector could not parse (admin)"
    )
    dead.add_argument("--limit", type=int, default=50, help="how many, newest first (1..1000)")
    dead.add_argument("--offset", type=int, default=0, help="skip this many newest ones first")
    dead.add_argument("--json", action="store_true", help="print the API's JSON")


def run_dead_letters(args: argparse.Namespace) -> int:
    """The command: one page of dead letters as a table (or JSON); 1 when the server refuses."""
    try:
        client = connect(args.url, args.token, args.user, args.password)
        _, body = client.request(
            "GET", f"/logs/dead-letters?limit={args.limit}&offset={args.offset}"
        )
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2) if args.json else format_dead_letters(body))
    return 0


def format_dead_letters(body: dict[str, Any]) -> str:
    """A count line, then id, received_at, source, reason and the (escaped, clipped) raw line."""
    rows = body["data"]
    head = f"{body['total']} dead letters"
    if not rows:
        return head
    head += f" (showing {len(rows)} from offset {body['offset']}, newest first)"
    table = [("ID", "RECEIVED", "SOURCE", "REASON", "RAW")]
    table += [
        (str(r["id"]), r["received_at"], safe(r["source"]), safe(r["reason"]), clip(safe(r["raw"])))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    return "\n".join([head, *lines])


def safe(text: str) -> str:
    """Attacker-sent text with control characters escaped, so it cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def clip(text: str, width: int = RAW_WIDTH) -> str:
    """At most `width` characters, marked when cut."""
    return text if len(text) <= width else text[: width - 3] + "..."
