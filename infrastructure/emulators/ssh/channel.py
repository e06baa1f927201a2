"""The session channel: an interactive fake shell, or one `exec` command; each line recorded."""

from __future__ import annotations

import asyncssh

from infrastructure.emulators.shell.files import login_banner
from infrastructure.emulators.shell.login import clip
from infrastructure.emulators.ssh.session import SshSession

MAX_LINE = 4096  # longer input lines are cut before they are recorded or run


async def run_session(session: SshSession, process: asyncssh.SSHServerProcess[str]) -> None:
    """Serve one session channel until the command ends, the user exits, or input ends."""
    try:
        if process.subsystem:
            process.stderr.write(f"subsystem request failed on channel 0: {process.subsystem}\n")
            process.exit(1)
        elif process.command is not None:
            await _exec(session, process, process.command)
        else:
            await _interactive(session, process)
    except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
        process.exit(130)
    except (BrokenPipeError, ConnectionError, asyncssh.DisconnectError):
        process.close()


async def _exec(session: SshSession, process: asyncssh.SSHServerProcess[str], command: str) -> None:
    line = clip_line(command)
    await session.record("exec", f"exec: {clip(line)}", command=line)
    outcome = session.shell(login=False).run(line)
    process.stdout.write(outcome.text)
    process.exit(outcome.status)


async def _interactive(session: SshSession, process: asyncssh.SSHServerProcess[str]) -> None:
    shell = session.shell(login=True)
    # Without a terminal (`ssh host < script`) bash prints neither banner nor prompts.
    tty = process.get_terminal_type() is not None
    if tty:
        process.stdout.write(login_banner(shell.state.machine, shell.state.now()))
    while not shell.finished:
        if tty:
            process.stdout.write(shell.prompt())
        line = await _read_line(process)
        if line is None:
            break
        if line:
            await session.record("command", f"command: {clip(line)}", command=line)
            process.stdout.write(shell.run(line).text)
    process.exit(0)


async def _read_line(process: asyncssh.SSHServerProcess[str]) -> str | None:
    """The next input line without its newline; None at end of input."""
    while True:
        try:
            raw = await process.stdin.readline()
        except asyncssh.TerminalSizeChanged:
            continue  # a resized window is not input
        except asyncssh.BreakReceived:
            process.stdout.write("^C\n")
            return ""
        return clip_line(raw) if raw else None


def clip_line(raw: str) -> str:
    """A command line without its line ending, bounded."""
    return raw[:MAX_LINE].strip("\r\n").strip()
