"""The telnet emulator: the distro's telnetd greeting, `login:` / `Password:`, the fake shell.

The negotiation and banner are those of the decky's telnetd (see `daemons`); what the client
revealed doing it (terminal type, speed, display, window, USER) is one `telnet_client` record.
Every login attempt is recorded; credentials the INI accepts open the fake shell (each command
recorded); three failures end the connection.
"""

from __future__ import annotations

import asyncio

from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.shell import Shell
from infrastructure.emulators.shell.files import login_banner
from infrastructure.emulators.shell.login import (
    LoginPolicy,
    base_machine,
    clip,
    session_machine,
    shell_user,
)
from infrastructure.emulators.telnet.daemons import greet, login_incorrect
from infrastructure.emulators.telnet.terminal import Terminal
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

MAX_FAILURES = 3  # as busybox login; then the connection closes
MAX_PROMPTS = 10  # empty usernames re-prompt, but not forever
FAIL_DELAY_S = 1.0  # login(1) pauses after a wrong password; it also slows brute force


class TelnetHandler:
    """Serves one decky's telnet port."""

    def __init__(self, ctx: ServiceContext, fail_delay: float = FAIL_DELAY_S) -> None:
        self._policy = LoginPolicy.from_config(ctx.config)
        self._machine = base_machine(ctx, self._policy)
        self._fail_delay = fail_delay

    async def __call__(self, conn: Connection) -> None:
        """Negotiate, prompt for credentials, and run the shell after a good login."""
        conn.mute_data()  # keystrokes would each be a record; auth and commands are recorded
        term = Terminal(conn)
        greeted = await greet(term, self._machine)
        if greeted is None:
            return
        if greeted.fields:
            summary = ", ".join(f"{k}={v}" for k, v in greeted.fields.items())
            fields = {k: clip(v) for k, v in greeted.fields.items()}
            await conn.record("telnet_client", f"telnet client: {clip(summary)}", **fields)
        user = await self._login(conn, term, greeted.user)
        if user is not None:
            await self._shell(conn, term, user)

    async def _login(self, conn: Connection, term: Terminal, preset: str) -> str | None:
        """login(1)'s loop; a `preset` user (from the client's USER) skips the first prompt."""
        failures = 0
        for _ in range(MAX_PROMPTS):
            username: str | None = preset
            preset = ""
            if not username:
                await term.write(f"{self._machine.hostname} login: ")
                username = await term.read_line(echo=True)
            if username is None:
                return None
            if not username.strip():
                continue
            await term.write("Password: ")
            password = await term.read_line(echo=False)
            if password is None:
                return None
            if await self._check(conn, username.strip(), password):
                return username.strip()
            failures += 1
            await asyncio.sleep(self._fail_delay)
            await term.write(login_incorrect(self._machine))
            if failures >= MAX_FAILURES:
                return None
        return None

    async def _check(self, conn: Connection, username: str, password: str) -> bool:
        accepted = self._policy.accepts(username, password)
        result = "success" if accepted else "failure"
        await conn.record(
            "auth",
            f"telnet login {clip(username)}: {result}",
            username=clip(username),
            password=clip(password),
            method="password",
            result=result,
        )
        return accepted

    async def _shell(self, conn: Connection, term: Terminal, username: str) -> None:
        user = shell_user(username)
        machine = session_machine(self._machine, conn.local_ip, user)
        shell = Shell(machine, user, client_ip=conn.peer_ip)
        await term.write(login_banner(machine, shell.state.now()))
        while not shell.finished:
            await term.write(shell.prompt())
            line = await term.read_line(echo=True)
            if line is None:
                return
            line = line.strip()
            if line:
                await conn.record("command", f"command: {clip(line)}", command=line)
                await term.write(shell.run(line).text)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """Registry entry: the telnet handler factory."""
    return {"telnet": TelnetHandler}
