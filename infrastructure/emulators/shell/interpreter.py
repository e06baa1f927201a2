"""The fake shell: parses a line, runs the fake commands, keeps cwd, environment and history."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from datetime import datetime

from infrastructure.emulators.shell import builtins_fs, builtins_net, builtins_sys, builtins_text
from infrastructure.emulators.shell.files import login_shell
from infrastructure.emulators.shell.fs import FakeFS, FsError
from infrastructure.emulators.shell.machine import Machine, utc_now
from infrastructure.emulators.shell.parse import ParseError, Simple, expand, parse
from infrastructure.emulators.shell.state import Command, Outcome, ShellState, fs_error

COMMANDS: dict[str, Command] = {
    **builtins_fs.COMMANDS,
    **builtins_sys.COMMANDS,
    **builtins_net.COMMANDS,
    **builtins_text.COMMANDS,
}
MAX_OUTPUT = 256 * 1024  # what one line may print; bounds memory whatever the input
MAX_DEPTH = 8  # nested `sh -c`, `sudo`, `$(...)`
MAX_HISTORY = 1000
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")


class Shell:
    """One interactive (or `exec`) session of the fake shell."""

    def __init__(
        self,
        machine: Machine,
        user: str,
        *,
        fs: FakeFS | None = None,
        client_ip: str = "",
        login: bool = True,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        home = "/root" if user == "root" else f"/home/{user}"
        shell_path = login_shell(machine)
        self.state = ShellState(
            machine=machine,
            user=user,
            fs=fs or FakeFS(machine, user),
            home=home,
            cwd=home,
            env=_environment(user, home, shell_path, client_ip),
            now=now,
            shell_name=posixpath.basename(shell_path),
            login=login,
            client_ip=client_ip,
        )
        self.state.runner = self._nested
        self._depth = 0

    @property
    def finished(self) -> bool:
        """True once the user ran `exit`/`logout`."""
        return self.state.exit_requested

    def prompt(self) -> str:
        """`user@host:cwd$ ` (`#` for root), with the home directory shown as `~`."""
        state = self.state
        cwd, home = state.cwd, state.home
        shown = "~" + cwd[len(home) :] if cwd == home or cwd.startswith(home + "/") else cwd
        sign = "#" if state.is_root else "$"
        return f"{state.user}@{state.machine.hostname}:{shown}{sign} "

    def run(self, line: str) -> Outcome:
        """Run one line typed (or exec'd) by the attacker; the text ends with a newline if any."""
        line = line.strip()
        if not line:
            return Outcome()
        self.state.history = [*self.state.history, line][-MAX_HISTORY:]
        outcome = self._run_line(line, "")
        if len(outcome.text) > MAX_OUTPUT:
            outcome.text = outcome.text[:MAX_OUTPUT]
        return outcome

    def _nested(self, line: str, stdin: str) -> Outcome:
        return self._run_line(line, stdin)

    def _run_line(self, line: str, stdin: str) -> Outcome:
        if self._depth >= MAX_DEPTH:
            return Outcome(f"{self.state.label}: maximum nesting level exceeded\n", 1)
        self._depth += 1
        try:
            return self._steps(self._substitute(line), stdin)
        finally:
            self._depth -= 1

    def _steps(self, line: str, stdin: str) -> Outcome:
        state = self.state
        try:
            steps = parse(expand(line, state.env, state.last_status))
        except ParseError as exc:
            return Outcome(f"{state.label}: {exc}\n", 2)
        texts: list[str] = []
        status = 0
        for step in steps:
            if (step.connector == "&&" and status != 0) or (step.connector == "||" and status == 0):
                continue
            outcome = self._pipeline(step.pipeline, stdin)
            texts.append(outcome.text)
            status = state.last_status = outcome.status
            if state.exit_requested:
                break
        return Outcome("".join(texts), status)

    def _substitute(self, line: str) -> str:
        def output(match: re.Match[str]) -> str:
            inner = match.group(1) if match.group(1) is not None else match.group(2)
            return " ".join(self._run_line(inner, "").text.split())

        return _SUBSTITUTION.sub(output, line)

    def _pipeline(self, commands: list[Simple], stdin: str) -> Outcome:
        data, outcome = stdin, Outcome()
        for command in commands:
            if command.stdin_from is not None:
                try:
                    data = self.state.fs.read(self.state.path(command.stdin_from))
                except FsError as exc:
                    return Outcome(f"{self.state.label}: {command.stdin_from}: {exc}\n", 1)
            outcome = self._exec(command.argv, data) if command.argv else Outcome()
            if command.stdout_to is not None:
                outcome = self._redirect(command, outcome)
            data = outcome.text
        return outcome

    def _redirect(self, command: Simple, outcome: Outcome) -> Outcome:
        target = command.stdout_to or ""
        if target == "/dev/null":
            return Outcome("", outcome.status)
        try:
            self.state.fs.write(self.state.path(target), outcome.text, append=command.append)
        except FsError as exc:
            return Outcome(f"{self.state.label}: {target}: {exc}\n", 1)
        return Outcome("", outcome.status)

    def _exec(self, argv: list[str], stdin: str) -> Outcome:
        name, args = argv[0], argv[1:]
        assignment = name.partition("=")
        if assignment[1] and assignment[0].isidentifier():
            self.state.env[assignment[0]] = assignment[2]
            return self._exec(args, stdin) if args else Outcome()
        if name == "busybox" and args:
            return self._exec(args, stdin)
        if "/" in name:
            return self._exec_path(name, args, stdin)
        command = COMMANDS.get(name)
        if command is None:
            return self._not_found(name)
        return command(self.state, args, stdin)

    def _exec_path(self, name: str, args: list[str], stdin: str) -> Outcome:
        path = self.state.path(name)
        node = self.state.fs.get(path)
        label = self.state.label
        if node is None:
            return Outcome(fs_error(label, name, FsError("ENOENT")), 127)
        if node.kind == "dir":
            return Outcome(fs_error(label, name, FsError("EISDIR")), 126)
        builtin = COMMANDS.get(posixpath.basename(path))
        if posixpath.dirname(path) in {"/bin", "/usr/bin", "/sbin", "/usr/sbin"} and builtin:
            return builtin(self.state, args, stdin)
        if node.content.startswith("#!") and "sh" in node.content.splitlines()[0]:
            return self._run_line("; ".join(node.content.splitlines()[1:]), stdin)
        return Outcome(f"{label}: {name}: cannot execute binary file: Exec format error\n", 126)

    def _not_found(self, name: str) -> Outcome:
        if self.state.shell_name == "bash":
            return Outcome(f"{self.state.label}: {name}: command not found\n", 127)
        return Outcome(f"{self.state.label}: {name}: not found\n", 127)


def _environment(user: str, home: str, shell: str, client_ip: str) -> dict[str, str]:
    env = {
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": shell,
        "PWD": home,
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    if client_ip:
        env["SSH_CLIENT"] = f"{client_ip} 52814 22"
    return env
