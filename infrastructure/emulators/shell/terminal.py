"""A telnet terminal: IAC option negotiation, server-side echo and line editing.

The server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD (character-at-a-time mode, as Linux
telnetd does), so it echoes what the user types, except passwords. Every other option the
client proposes is refused once; replies are never repeated, so negotiation cannot loop.
"""

from __future__ import annotations

from infrastructure.runtime.session import Connection

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3
OFFER = bytes([IAC, WILL, ECHO, IAC, WILL, SGA])
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
        self._answered: set[tuple[int, int]] = set()
        self._after_cr = False  # CR ends a line; the LF or NUL after it belongs to it
        self.echo = True  # cleared if the client refuses our echo (DONT ECHO)

    async def start(self) -> None:
        """Offer server echo and suppress-go-ahead."""
        await self._conn.send(OFFER)

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
                return line.decode("utf-8", "replace")
            if byte == _CTRL_C:
                await self._echo(b"^C\r\n", echo=True)
                return ""
            if byte in _BACKSPACES:
                if line:
                    del line[-1]
                    await self._echo(b"\b \b", echo=echo)
            elif (byte >= 0x20 or byte == 0x09) and len(line) < MAX_LINE:
                line.append(byte)
                await self._echo(bytes([byte]), echo=echo)

    async def _echo(self, data: bytes, *, echo: bool) -> None:
        if echo and self.echo:
            await self._conn.send(data)

    async def _next_byte(self) -> int | None:
        while not self._data:
            chunk = await self._conn.recv()
            if not chunk:
                return None
            pending = self._pending if len(self._pending) <= MAX_PENDING else b""
            await self._absorb(pending + chunk)
        byte = self._data[0]
        del self._data[:1]
        return byte

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
            return 0 if end < 0 else end + 2
        if verb in (DO, DONT, WILL, WONT):
            if len(seq) < 3:
                return 0
            await self._negotiate(verb, seq[2])
            return 3
        return 2  # NOP, GA, AYT ...: nothing to do

    async def _negotiate(self, verb: int, option: int) -> None:
        if verb == DONT and option == ECHO:
            self.echo = False
        if (verb, option) in self._answered:
            return
        self._answered.add((verb, option))
        if verb == DO and option not in (ECHO, SGA):
            await self._conn.send(bytes([IAC, WONT, option]))
        elif verb == WILL and option != SGA:
            await self._conn.send(bytes([IAC, DONT, option]))
