"""What every fake command sees: the session's machine, user, filesystem, cwd and environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from infrastructure.emulators.shell.fs import FakeFS, FsError, resolve
from infrastructure.emulators.shell.machine import Machine


@dataclass(slots=True)
class Outcome:
    """A command's output (stdout and stderr interleaved, as a terminal shows them) and status."""

    text: str = ""
    status: int = 0


Runner = Callable[[str, str], Outcome]  # (command line, stdin) -> outcome


@dataclass(slots=True)
class ShellState:
    """Mutable per-session state; commands read and change it."""

    machine: Machine
    user: str
    fs: FakeFS
    home: str
    cwd: str
    env: dict[str, str]
    now: Callable[[], datetime]
    shell_name: str = "bash"
    login: bool = True  # a login shell names itself "-bash" in its error messages
    history: list[str] = field(default_factory=list)
    last_status: int = 0
    exit_requested: bool = False
    client_ip: str = ""  # who is logged in from where (`w`, `who`, `last`)
    # Set by the interpreter: runs a nested command line (for sudo, sh -c, nohup ...).
    runner: Runner | None = None

    @property
    def is_root(self) -> bool:
        """Whether the session runs as uid 0."""
        return self.user == "root"

    @property
    def label(self) -> str:
        """How the shell prefixes its own error messages."""
        return f"-{self.shell_name}" if self.login else self.shell_name

    @property
    def uid(self) -> int:
        """The numeric uid (login accounts are numbered from 1000 as useradd does)."""
        if self.is_root:
            return 0
        accounts = self.machine.accounts
        return 1000 + accounts.index(self.user) if self.user in accounts else 1000

    def path(self, raw: str) -> str:
        """A command argument as an absolute path in the fake tree."""
        return resolve(raw, self.cwd, self.home)

    def run(self, line: str, stdin: str = "") -> Outcome:
        """Run a nested command line through the interpreter."""
        if self.runner is None or not line.strip():
            return Outcome()
        return self.runner(line, stdin)


def fs_error(prefix: str, target: str, exc: FsError) -> str:
    """`prefix: target: strerror` as coreutils print it."""
    return f"{prefix}: {target}: {exc}\n"


def split_flags(args: list[str]) -> tuple[set[str], list[str]]:
    """Single-letter flags (`-la` → {l, a}) and the remaining operands."""
    flags: set[str] = set()
    operands: list[str] = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            flags.update(arg[1:])
        elif not arg.startswith("--"):
            operands.append(arg)
    return flags, operands


Command = Callable[[ShellState, list[str], str], Outcome]
