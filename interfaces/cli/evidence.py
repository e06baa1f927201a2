"""`decnet evidence export UUID`: an attacker's bundle from the server; `decnet evidence verify
BUNDLE.zip`: check one offline.

Neither needs a database or settings: main dispatches them before settings are loaded (export
talks to the server's API like the other client commands). Exit status 0 when the export is
written or everything verifies, 1 on a refusal or any failure, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

from interfaces.cli.api_client import ApiError, connect

# The server names the bundle; only a plain file name of its is used as the default target.
_SERVED_NAME = re.compile(r'filename="([A-Za-z0-9._-]{1,200})"')


def add_evidence_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `decnet evidence export` and `decnet evidence verify` on the `decnet` parser."""
    evidence = commands.add_parser("evidence", help="evidence bundles")
    sub = evidence.add_subparsers(dest="action", required=True)
    export = sub.add_parser(
        "export",
        parents=[remote],
        help="an attacker's signed evidence bundle, from the server (auditor or admin)",
    )
    export.add_argument("uuid", type=_attacker_uuid, help="the attacker's uuid")
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        help="where to write it (default: the server's file name, in this directory)",
    )
    verify = sub.add_parser("verify", help="check an evidence bundle offline, no server needed")
    verify.add_argument("bundle", type=Path, help="the .zip an export produced")
    verify.add_argument(
        "--public-key", type=Path, help="insist on this Ed25519 public key (PEM) as the signer"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")


def _attacker_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an attacker uuid") from None


def run_evidence(args: argparse.Namespace) -> int:
    """Export a bundle, or verify one and print the report; non-zero on any failure."""
    if args.action == "export":
        return _export(args)
    return _verify(args)


def _export(args: argparse.Namespace) -> int:
    """Fetch the bundle and write it whole or not at all (a partial zip would fail `verify`
    for the wrong reason)."""
    try:
        client = connect(args.url, args.token, args.user, args.password)
        _, bundle, headers = client.fetch("GET", f"/attackers/{args.uuid}/evidence")
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    served = _SERVED_NAME.search(headers.get("Content-Disposition", ""))
    target: Path = args.output or Path(served.group(1) if served else f"evidence-{args.uuid}.zip")
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(bundle)
        partial.replace(target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        print(f"decnet: cannot write {target}: {e}", file=sys.stderr)
        return 1
    print(f"{target} ({len(bundle):,} bytes); check it with: decnet evidence verify {target}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Verify the bundle, print the report, exit non-zero on any failure."""
    # Imported here so `decnet serve` and the other commands never load the crypto stack.
    from infrastructure.audit.bundle_verify import verify_bundle
    from infrastructure.audit.signing import PublicKey, SigningKeyError

    trusted = None
    if args.public_key is not None:
        try:
            trusted = PublicKey.from_pem(args.public_key.read_bytes())
        except (OSError, SigningKeyError) as e:
            print(f"decnet: cannot use {args.public_key}: {e}", file=sys.stderr)
            return 2
    if not args.bundle.is_file():
        print(f"decnet: {args.bundle} is not a file", file=sys.stderr)
        return 2
    report = verify_bundle(args.bundle, trusted)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1
