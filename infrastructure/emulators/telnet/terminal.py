"""A telnet terminal: option negotiation, server-side echo and line editing.

Negotiation lives in `Options`; this reads lines (echoing them unless the client refused our
ECHO) and lets the login flow wait for the client's answers, as telnetd waits for them.
"""

from __future__ import annotations

from collections.abc import Iterable

from infrastructure.emulators.telnet.options import DO, DONT, ECHO, IAC, SB, SE, WILL, WONT, Options
from infrastructure.runtime.session import Connection

MAX_LINE = 1024  # an input line is cut here; the rest of it is dropped
MAX_PENDING = 4096  # an unterminated subnegotiation longer than this is dropped
_BACKSPACES = frozenset({0x08, 0x7F})
_CTRL_C, _CTRL_D = 0x03, 0x04


class Terminal:
    """Reads lines and writes text on a telnet connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._data = bytearray()  # application bytes, IAC sequences removed
        self._pending = b""  # an IAC sequence split across reads
        self._after_cr = False  # CR ends a line; the LF or NUL after it belongs to it
        self._echoed = bytearray()  # echo of the input processed since the last read
        self.options = Options(conn.send)

    @property
    def echo(self) -> bool:
        """The server echoes input unless the client said DONT ECHO."""
        return self.options.mine.get(ECHO, True)

    async def settle(self, options: Iterable[int]) -> bool:
        """Read (keeping typed data) until the client answered each request; False at EOF."""
        wanted = tuple(options)
        while self.options.pending(wanted):
            if not await self._receive():
                return False
        return True

    async def await_subnegotiations(self, options: Iterable[int]) -> bool:
        """Read until the client sent a subnegotiation for each option; False at EOF."""
        wanted = tuple(options)
        while any(o not in self.options.subnegotiations for o in wanted):
            if not await self._receive():
                return False
        return True

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (telnet commands, or text already in network form)."""
        await self._conn.send(data)

    async def write(self, text: str) -> None:
        """Send text with CRLF line ends (and 0xFF doubled, as telnet requires)."""
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
        await self._conn.send(data.replace(b"\xff", b"\xff\xff"))

    async def read_line(self, *, echo: bool) -> str | None:
        """One line without its ending; None when the peer closes (or Ctrl-D on an empty line)."""
        line = bytearray()
        while True:
            byte = await self._next_byte()
            if byte is None or (byte == _CTRL_D and not line):
                return None
            after_cr, self._after_cr = self._after_cr, byte == 0x0D
            if after_cr and byte in (0x0A, 0x00):
                continue
            if byte in (0x0D, 0x0A):
                await self._echo(b"\r\n", echo=True)
                await self._flush_echo()
                return line.decode("utf-8", "replace")
            if byte == _CTRL_C:
                await self._echo(b"^C\r\n", echo=True)
                await self._flush_echo()
                return ""
            if byte in _BACKSPACES:
                if line:
                    del line[-1]
                    await self._echo(b"\b \b", echo=echo)
            elif (byte >= 0x20 or byte == 0x09) and len(line) < MAX_LINE:
                line.append(byte)
                await self._echo(bytes([byte]), echo=echo)

    async def _echo(self, data: bytes, *, echo: bool) -> None:
        """Queue an echo; what one read brought is echoed in one write, as a pty does."""
        if echo and self.echo:
            self._echoed += data

    async def _flush_echo(self) -> None:
        if self._echoed:
            echoed, self._echoed = bytes(self._echoed), bytearray()
            await self._conn.send(echoed)

    async def _next_byte(self) -> int | None:
        while not self._data:
            await self._flush_echo()
            if not await self._receive():
                return None
        byte = self._data[0]
        del self._data[:1]
        return byte

    async def _receive(self) -> bool:
        chunk = await self._conn.recv()
        if not chunk:
            return False
        pending = self._pending if len(self._pending) <= MAX_PENDING else b""
        await self._absorb(pending + chunk)
        return True

    async def _absorb(self, chunk: bytes) -> None:
        """Split a chunk into data and IAC commands; keep an incomplete command for later."""
        self._pending = b""
        index = 0
        while index < len(chunk):
            byte = chunk[index]
            if byte != IAC:
                self._data.append(byte)
                index += 1
                continue
            consumed = await self._command(chunk[index:])
            if consumed == 0:
                self._pending = chunk[index:]
                return
            index += consumed

    async def _command(self, seq: bytes) -> int:
        """Handle the IAC sequence at the start of `seq`; bytes used, 0 if incomplete."""
        if len(seq) < 2:
            return 0
        verb = seq[1]
        if verb == IAC:
            self._data.append(IAC)
            return 2
        if verb == SB:
            end = seq.find(bytes([IAC, SE]), 2)
            if end < 0:
                return 0
            payload = seq[2:end].replace(bytes([IAC, IAC]), bytes([IAC]))
            if payload:
                self.options.subnegotiation(payload[0], payload)
            return end + 2
        if verb in (DO, DONT, WILL, WONT):
            if len(seq) < 3:
                return 0
            await self.options.received(verb, seq[2])
            return 3
        return 2  # NOP, GA, AYT ...: nothing to do
