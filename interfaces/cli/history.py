"""`decnet events` and `decnet audit`: the event history and the audit trail, through the API."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

from interfaces.cli.api_client import ApiClient, ApiError, connect, positive_seconds
from interfaces.cli.tables import print_table

FOLLOW_POLL_S = 1.0
EVENT_COLUMNS = ("position", "recorded_at", "type", "actor", "client_ip", "summary")
AUDIT_COLUMNS = ("at", "actor", "client_ip", "action", "target", "outcome", "detail")
HISTORY_COMMANDS = ("events", "audit")


def add_history_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `events` and `audit` on the `decnet` parser."""
    events = commands.add_parser(
        "events", parents=[remote], help="page or follow the event history"
    )
    events.add_argument("--after", type=int, default=0, help="start after this position")
    events.add_argument("--type", action="append", help="an event type name (repeatable)")
    events.add_argument("--actor", help="a user uuid or username")
    events.add_argument("--limit", type=int, default=100)
    events.add_argument("--follow", action="store_true", help="keep printing new events")
    events.add_argument("--format", choices=["table", "jsonl"], default="table")
    audit = commands.add_parser(
        "audit",
        parents=[remote],
        help="the audit trail, newest first; `decnet audit verify` checks the whole event log",
    )
    audit.add_argument(
        "action",
        nargs="?",
        choices=["verify"],
        help="verify: recompute the tamper-evidence tree from every stored event (exit 1 if it"
        " differs from what was recorded and signed)",
    )
    audit.add_argument(
        "--timeout",
        type=positive_seconds,
        default=3600.0,
        help="seconds to wait for `verify` (about a minute per million events)",
    )
    audit.add_argument("--actor")
    audit.add_argument("--action")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--follow", action="store_true", help="keep printing new entries")
    audit.add_argument("--format", choices=["table", "jsonl"], default="table")


def run_history_command(args: argparse.Namespace) -> int:
    """Run `events` or `audit`; 0 on success, 1 when the server refused."""
    try:
        client = connect(args.url, args.token, args.user, args.password)
        if args.command == "events":
            return _events(client, args)
        if args.action == "verify":
            return _verify(client, args.timeout)
        return _audit(client, args)
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _events(client: ApiClient, args: argparse.Namespace) -> int:
    after = args.after
    header = args.format == "table"
    while True:
        query = _query(after=after, limit=args.limit, type=args.type, actor=args.actor)
        page = client.request("GET", f"/events?{query}")[1]
        _print([_flat_event(e) for e in page["data"]], EVENT_COLUMNS, args.format, header)
        header = header and not page["data"]
        after = page["next_after"]
        if not args.follow:
            return 0
        if len(page["data"]) < args.limit:
            time.sleep(FOLLOW_POLL_S)


def _audit(client: ApiClient, args: argparse.Namespace) -> int:
    seen: set[tuple[int, str]] = set()
    header = args.format == "table"
    while True:
        query = _query(actor=args.actor, action=args.action, limit=args.limit)
        rows = client.request("GET", f"/audit?{query}")[1]["data"]
        fresh = [r for r in reversed(rows) if (r["position"], r["action"]) not in seen]
        seen.update((r["position"], r["action"]) for r in rows)
        _print([_flat_audit(r) for r in fresh], AUDIT_COLUMNS, args.format, header)
        header = False
        if not args.follow:
            return 0
        time.sleep(FOLLOW_POLL_S)


def _verify(client: ApiClient, timeout: float) -> int:
    """Print the server's verification of the whole log; 0 when everything holds, else 1."""
    report = client.request("GET", "/audit/verify", timeout=timeout)[1]
    print(json.dumps(report, indent=2, ensure_ascii=False))
    mismatch = report["first_mismatch"]
    if mismatch is not None:
        print(
            f"decnet: MISMATCH at position {mismatch['position']} ({mismatch['kind']}):"
            f" {mismatch['detail']}",
            file=sys.stderr,
        )
    return 0 if report["ok"] else 1


def _query(**params: Any) -> str:
    pairs = [(k, v) for k, value in params.items() for v in _values(value)]
    return urlencode(pairs)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _flat_event(event: dict[str, Any]) -> dict[str, Any]:
    actor = event["actor"]
    return {**event, "actor": actor["username"] if actor else "system"}


def _flat_audit(row: dict[str, Any]) -> dict[str, Any]:
    actor = row["actor"]
    return {**row, "actor": actor["username"] if actor else "system"}


def _print(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, header: bool) -> None:
    if fmt == "jsonl":
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return
    if rows or header:
        print_table(rows, columns, header=header)
    sys.stdout.flush()
