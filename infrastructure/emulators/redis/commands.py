"""The redis emulator's plain commands: each maps (session, args) to an encoded reply."""

from __future__ import annotations

import time
from collections.abc import Callable

from infrastructure.emulators.redis.data import RedisSession
from infrastructure.emulators.redis.resp import (
    bulk,
    bulks,
    error,
    integer,
    mapping,
    null,
    simple,
)

Args = list[bytes]
Command = Callable[[RedisSession, Args], bytes]
OK = simple("OK")
_DATABASES = frozenset(str(n).encode() for n in range(16))
_LUA_DENIED = (
    "ERR user_script:1: Script attempted to access nonexistent global variable 'package'"
    " script: 1, on @user_script:1."
)


def _get(session: RedisSession, args: Args) -> bytes:
    value = session.keys.get(args[0])
    return null(session.protocol) if value is None else bulk(value)


def _set(session: RedisSession, args: Args) -> bytes:
    session.keys[args[0]] = args[1]  # options (EX, NX ...) are accepted and ignored
    return OK


def _flush(session: RedisSession) -> bytes:
    session.keys.clear()
    return OK


def _quit(session: RedisSession) -> bytes:
    session.closing = True
    return OK


def _module(args: Args) -> bytes:
    sub = args[0].upper()
    if sub == b"LOAD":
        return error("ERR Error loading the extension. Please check the server logs.")
    return bulks([]) if sub == b"LIST" else error("ERR unknown subcommand for 'module'")


def _config(session: RedisSession, args: Args) -> bytes:
    sub = args[0].upper()
    if sub == b"GET" and len(args) >= 2:
        pairs = session.matching_config(args[1])
        return mapping(((k, bulk(v)) for k, v in pairs), session.protocol)
    if sub == b"SET" and len(args) >= 3:
        # Only this connection's copy changes: `dir`/`dbfilename` never reach a real path.
        session.config[args[1].decode("latin-1").lower()] = args[2].decode("latin-1")
        return OK
    if sub in {b"RESETSTAT", b"REWRITE"}:
        return OK
    return error(f"ERR unknown subcommand or wrong number of arguments for '{sub.decode()}'")


def _client(session: RedisSession, args: Args) -> bytes:
    sub = args[0].upper()
    if sub == b"GETNAME":
        return null(session.protocol)
    if sub == b"ID":
        return integer(7)
    if sub == b"LIST":
        return bulk("id=7 addr=? fd=8 name= age=0 idle=0 flags=N db=0 cmd=client|list\n")
    return OK  # SETNAME, SETINFO (redis-py sends it on connect), NO-EVICT ...


# name -> (minimum argument count after the name, implementation)
COMMANDS: dict[str, tuple[int, Command]] = {
    "PING": (0, lambda s, a: bulk(a[0]) if a else simple("PONG")),
    "ECHO": (1, lambda s, a: bulk(a[0])),
    "GET": (1, _get),
    "SET": (2, _set),
    "DEL": (1, lambda s, a: integer(sum(s.keys.pop(k, None) is not None for k in a))),
    "EXISTS": (1, lambda s, a: integer(sum(k in s.keys for k in a))),
    "KEYS": (1, lambda s, a: bulks(s.matching_keys(a[0]))),
    "DBSIZE": (0, lambda s, a: integer(len(s.keys))),
    "TYPE": (1, lambda s, a: simple("string" if a[0] in s.keys else "none")),
    "TTL": (1, lambda s, a: integer(-1 if a[0] in s.keys else -2)),
    "FLUSHALL": (0, lambda s, a: _flush(s)),
    "FLUSHDB": (0, lambda s, a: _flush(s)),
    "SELECT": (1, lambda s, a: OK if a[0] in _DATABASES else error("ERR DB index is out of range")),
    "SAVE": (0, lambda s, a: OK),
    "BGSAVE": (0, lambda s, a: simple("Background saving started")),
    "LASTSAVE": (0, lambda s, a: integer(int(time.time()) - 600)),
    "TIME": (0, lambda s, a: bulks([str(int(time.time())), "0"])),
    # The attacker expects a connection to its rogue master; saying OK costs nothing.
    "SLAVEOF": (2, lambda s, a: OK),
    "REPLICAOF": (2, lambda s, a: OK),
    "MODULE": (1, lambda s, a: _module(a)),
    "CONFIG": (1, _config),
    "CLIENT": (1, _client),
    "COMMAND": (0, lambda s, a: integer(0) if a[:1] == [b"COUNT"] else bulks([])),
    "EVAL": (2, lambda s, a: error(_LUA_DENIED)),
    "EVALSHA": (2, lambda s, a: error("NOSCRIPT No matching script. Please use EVAL.")),
    "QUIT": (0, lambda s, a: _quit(s)),
}
