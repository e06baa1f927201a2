"""`decnet` parses its command line without the server's modules: a client command (login,
fleet, history, attack-sim) or `--help` does not pay ~1 s of imports it never uses."""

from __future__ import annotations

import subprocess
import sys

# The server's composition and what only it (or a decky) runs.
SERVER_MODULES = (
    "interfaces.bootstrap",
    "interfaces.fleet",
    "infrastructure.emulators.registry",
    "litestar",
    "scapy",
)


def test_the_command_line_imports_none_of_the_server() -> None:
    probe = (
        "import sys; from interfaces.cli.main import build_parser; build_parser();"
        f" print(','.join(m for m in {SERVER_MODULES!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"imported at parse time: {done.stdout.strip()}"
