"""`decnet` parses its command line without the server's modules: a client command (login,
fleet, history, attack-sim) or `--help` does not pay ~1 s of imports it never uses; the intake
processes import the Redis client only once they open Redis."""

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


def imported(code: str, modules: tuple[str, ...]) -> str:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"import sys; {code}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_the_command_line_imports_none_of_the_server() -> None:
    """Building the parser imports none of the server's composition."""
    found = imported("from interfaces.cli.main import build_parser; build_parser()", SERVER_MODULES)
    assert found == "", f"imported at parse time: {found}"


def test_the_intake_processes_import_no_redis_client_before_they_open_redis() -> None:
    """`decnet serve`'s intake child without DECNET_REDIS_URL never pays for the Redis client."""
    found = imported("import interfaces.cli.intake, interfaces.cli.collector", ("redis",))
    assert found == "", "the Redis client is imported with the intake's modules"
