"""A fake Unix shell over an in-memory filesystem, its logins and terminal, for ssh and telnet."""

from infrastructure.emulators.shell.fs import FakeFS, FsError, Node
from infrastructure.emulators.shell.interpreter import Shell
from infrastructure.emulators.shell.machine import Machine, account_name, build_machine
from infrastructure.emulators.shell.state import Outcome

__all__ = [
    "FakeFS",
    "FsError",
    "Machine",
    "Node",
    "Outcome",
    "Shell",
    "account_name",
    "build_machine",
]
