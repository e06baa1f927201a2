"""How each distro's telnetd opens a session, up to the first login prompt.

- netkit telnetd (Debian, Ubuntu, RHEL-likes, FreeBSD's is the same BSD code): DO TTYPE,
  TSPEED, XDISPLOC, NEW-ENVIRON, then *waits* for the answers (a client that never answers
  never gets further: that wait is what nmap's "Linux telnetd" signature sees), asks for each
  accepted option's value, negotiates SGA/ECHO/NAWS/STATUS/LFLOW, turns its echo on and prints
  /etc/issue.net. A `USER` sent through NEW-ENVIRON goes to login(1), which then only asks for
  the password.
- GNU inetutils telnetd (Debian 12's `telnetd`): the same dance with a few more options (it
  offers AUTHENTICATION/ENCRYPT, asks OLD-ENVIRON and LINEMODE, then TIMING-MARK and BINARY) and
  prints its built-in banner, `Linux <release> (<host>) (pts/0)`, instead of /etc/issue.net.
  nmap has no signature for it, exactly as for a real Debian 12 host.
- BusyBox telnetd (Alpine, embedded firmware): DO ECHO, DO NAWS, WILL ECHO, WILL SGA without
  waiting, then a blank line and the login prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infrastructure.emulators.shell import Machine
from infrastructure.emulators.shell.files import issue_net
from infrastructure.emulators.telnet.options import (
    AUTHENTICATION,
    BINARY,
    DO,
    ECHO,
    ENCRYPT,
    IAC,
    LFLOW,
    LINEMODE,
    NAWS,
    NEW_ENVIRON,
    OLD_ENVIRON,
    SB,
    SE,
    SEND,
    SGA,
    STATUS,
    TIMING_MARK,
    TSPEED,
    TTYPE,
    WILL,
    XDISPLOC,
    environment,
    sub_text,
)
from infrastructure.emulators.telnet.terminal import Terminal

_BUSYBOX_FAMILIES = frozenset({"busybox", "alpine"})
_INETUTILS_DISTROS = frozenset({"debian-12"})
_TERMINAL_OPTIONS = (TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON)
_SUBNEGOTIATION_ORDER = (TSPEED, XDISPLOC, NEW_ENVIRON, OLD_ENVIRON, TTYPE)  # getterminaltype()


@dataclass(frozen=True, slots=True)
class Greeted:
    """What the client revealed while negotiating, and the user it asked to log in as."""

    fields: dict[str, str] = field(default_factory=dict)  # term, speed, display, window
    user: str = ""  # from NEW-ENVIRON USER: login skips the username prompt


async def greet(term: Terminal, machine: Machine) -> Greeted | None:
    """Open the session the way the machine's telnetd does; None if the client left."""
    if machine.family in _BUSYBOX_FAMILIES:
        return await _busybox(term, machine)
    inetutils = machine.distro.slug in _INETUTILS_DISTROS
    if not await _terminal_type(term, inetutils):
        return None
    options = term.options
    modes = [(WILL, SGA), (DO, ECHO), (DO, LINEMODE), (DO, NAWS), (WILL, STATUS), (DO, LFLOW)]
    await options.request(*(m for m in modes if inetutils or m[1] != LINEMODE))
    if not await term.settle((NAWS, ECHO, LINEMODE)):
        return None
    finish = [] if options.mine.get(ECHO) else [(WILL, ECHO)]
    if inetutils and not options.his.get(LINEMODE):  # kludge line mode probe
        finish += [(DO, TIMING_MARK), (DO, BINARY)]
    if finish:
        await options.request(*finish)
    greeted = _revealed(term)
    if inetutils:
        banner = f"\n{machine.sysname} {machine.release} ({machine.hostname}) (pts/0)\n\n"
        await term.write(banner)
    elif not greeted.user:  # with a USER, netkit shows no banner (login was told who)
        await term.write(issue_net(machine))
    return greeted


async def _terminal_type(term: Terminal, inetutils: bool) -> bool:
    """getterminaltype(): ask for the terminal options, wait, then ask for their values."""
    options = term.options
    asked = [*_TERMINAL_OPTIONS, OLD_ENVIRON] if inetutils else list(_TERMINAL_OPTIONS)
    offers = [(WILL, AUTHENTICATION), (WILL, ENCRYPT)] if inetutils else []
    await options.request(*offers, *((DO, option) for option in asked))
    if not await term.settle(asked):
        return False
    accepted = [o for o in _SUBNEGOTIATION_ORDER if options.his.get(o)]
    if accepted:
        await term.send_raw(b"".join(bytes([IAC, SB, o, SEND, IAC, SE]) for o in accepted))
        return await term.await_subnegotiations(accepted)
    return True


async def _busybox(term: Terminal, machine: Machine) -> Greeted:
    await term.options.request((DO, ECHO), (DO, NAWS), (WILL, ECHO), (WILL, SGA))
    await term.send_raw(b"\r\r\n")  # print_login_issue()'s puts("\r") through the pty
    return Greeted()


def _revealed(term: Terminal) -> Greeted:
    subs = term.options.subnegotiations
    fields = {
        "term": sub_text(subs.get(TTYPE, b"")),
        "speed": sub_text(subs.get(TSPEED, b"")),
        "display": sub_text(subs.get(XDISPLOC, b"")),
    }
    window = subs.get(NAWS, b"")
    if len(window) == 5:
        fields["window"] = (
            f"{int.from_bytes(window[1:3], 'big')}x{int.from_bytes(window[3:], 'big')}"
        )
    user = environment(subs.get(NEW_ENVIRON, b"")).get("USER", "")
    if user:
        fields["env_user"] = user
    return Greeted({k: v for k, v in fields.items() if v}, user)


def login_incorrect(machine: Machine) -> str:
    """What login(1) prints after a wrong password (shadow's adds a blank line first)."""
    return "Login incorrect\n" if machine.family in _BUSYBOX_FAMILIES else "\nLogin incorrect\n"
