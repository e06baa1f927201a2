"""Telnet option negotiation (RFC 854/855, the loop-free rules of RFC 1143) and what the
client tells in subnegotiations (terminal type, speed, X display, environment, window size).

The server asks for options itself (DO TTYPE ...), so a WILL/WONT can be the client's answer
to our request (no reply: that would loop) or its own proposal (accept the options a Linux
telnetd accepts, refuse the rest, once each).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
BINARY, ECHO, SGA, STATUS, TIMING_MARK, TTYPE, NAWS = 0, 1, 3, 5, 6, 24, 31
TSPEED, LFLOW, LINEMODE, XDISPLOC, OLD_ENVIRON = 32, 33, 34, 35, 36
AUTHENTICATION, ENCRYPT, NEW_ENVIRON = 37, 38, 39
SEND, IS = 1, 0
ENV_VAR, ENV_VALUE, ENV_USERVAR = 0, 1, 3
# What the client may enable on its side, and what we enable on ours, when proposed.
_HIS_ACCEPTED = frozenset({TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, NAWS, LFLOW})
_MINE_ACCEPTED = frozenset({ECHO, SGA, STATUS})
MAX_SUBNEGOTIATION = 512  # a longer payload is cut: it only feeds records


class Options:
    """Per-option state of both sides, and the last subnegotiation payload per option."""

    def __init__(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        self._send = send
        self.his: dict[int, bool] = {}  # options the client has enabled (True) or refused
        self.mine: dict[int, bool] = {}
        self._asked_do: set[int] = set()  # DO sent, WILL/WONT not yet received
        self._asked_will: set[int] = set()
        self._refused: set[tuple[int, int]] = set()  # proposals refused once, never again
        self.subnegotiations: dict[int, bytes] = {}

    async def request(self, *pairs: tuple[int, int]) -> None:
        """Send DO/WILL requests in one write (as telnetd's buffered output does)."""
        out = bytearray()
        for verb, option in pairs:
            pending = self._asked_do if verb == DO else self._asked_will
            pending.add(option)
            out += bytes([IAC, verb, option])
        await self._send(bytes(out))

    def pending(self, options: Iterable[int]) -> bool:
        """True while any of `options` still awaits the client's answer."""
        return any(o in self._asked_do or o in self._asked_will for o in options)

    async def received(self, verb: int, option: int) -> None:
        """Apply a DO/DONT/WILL/WONT from the client, answering only when the rules require."""
        if verb in (WILL, WONT):
            await self._his(option, verb == WILL)
        else:
            await self._mine(option, verb == DO)

    def subnegotiation(self, option: int, payload: bytes) -> None:
        """Keep the payload of `IAC SB option ... IAC SE` (IAC IAC already undoubled)."""
        self.subnegotiations[option] = payload[:MAX_SUBNEGOTIATION]

    async def _his(self, option: int, enable: bool) -> None:
        if option in self._asked_do:
            self._asked_do.discard(option)
            self.his[option] = enable
        elif enable and not self.his.get(option):
            if option in _HIS_ACCEPTED:
                self.his[option] = True
                await self._send(bytes([IAC, DO, option]))
            else:
                await self._refuse(WILL, option)
        elif not enable:
            was_on, self.his[option] = self.his.get(option), False
            if was_on:
                await self._send(bytes([IAC, DONT, option]))

    async def _mine(self, option: int, enable: bool) -> None:
        if option in self._asked_will:
            self._asked_will.discard(option)
            self.mine[option] = enable
        elif enable and not self.mine.get(option):
            if option in _MINE_ACCEPTED:
                self.mine[option] = True
                await self._send(bytes([IAC, WILL, option]))
            else:
                await self._refuse(DO, option)
        elif not enable:
            was_on, self.mine[option] = self.mine.get(option), False
            if was_on:
                await self._send(bytes([IAC, WONT, option]))

    async def _refuse(self, verb: int, option: int) -> None:
        """DONT/WONT a proposal, once: a client repeating it must not make us loop."""
        if (verb, option) not in self._refused:
            self._refused.add((verb, option))
            await self._send(bytes([IAC, DONT if verb == WILL else WONT, option]))


def sub_text(payload: bytes) -> str:
    """The text of an `IS` reply (terminal type, speed, X display); '' if not one."""
    if len(payload) < 2 or payload[1] != IS:
        return ""
    return payload[2:].decode("ascii", "replace")


def environment(payload: bytes) -> dict[str, str]:
    """Variables of a NEW-ENVIRON `IS` reply (RFC 1572), without escapes beyond ESC."""
    if len(payload) < 2 or payload[1] != IS:
        return {}
    variables: dict[str, str] = {}
    name: bytearray | None = None
    value = bytearray()
    current = value
    escaped = False
    for byte in payload[2:]:
        if escaped:
            current.append(byte)
            escaped = False
        elif byte == 2:  # ESC
            escaped = True
        elif byte in (ENV_VAR, ENV_USERVAR):
            if name is not None:
                variables[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
            name, value = bytearray(), bytearray()
            current = name
        elif byte == ENV_VALUE and name is not None:
            current = value
        else:
            current.append(byte)
    if name is not None:
        variables[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return variables
