"""`decnet evidence verify BUNDLE.zip`: check an evidence bundle offline.

Needs no server, no database and no settings: main dispatches it before settings are loaded.
Exit status 0 when everything verifies, 1 on any failure, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_evidence_commands(commands: Any) -> None:
    """Register `decnet evidence verify` on the `decnet` parser."""
    evidence = commands.add_parser("evidence", help="evidence bundles")
    sub = evidence.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="check an evidence bundle offline, no server needed")
    verify.add_argument("bundle", type=Path, help="the .zip an export produced")
    verify.add_argument(
        "--public-key", type=Path, help="insist on this Ed25519 public key (PEM) as the signer"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")


def run_evidence(args: argparse.Namespace) -> int:
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
