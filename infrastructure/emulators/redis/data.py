"""The redis emulator's fake server state: per-connection keyspace, CONFIG values, INFO text."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from domain.fleet.distros import DISTROS
from infrastructure.runtime.session import Connection

DEFAULT_VERSION = "7.0.15"
# What each distro's own redis-server package reports; others run upstream's 7.0.15.
DISTRO_VERSIONS = {
    "ubuntu-22.04": "6.0.16",
    "ubuntu-20.04": "5.0.7",
    "debian-12": "7.0.15",
    "debian-11": "6.0.16",
}
DEFAULT_OS = "Linux 5.15.0-105-generic x86_64"
_BASE_UPTIME_S = 3_912_447  # a server that has been up for ~45 days looks like production


def default_config(password: str) -> dict[str, str]:
    """What `CONFIG GET` shows; `CONFIG SET` changes this copy only (dir/dbfilename attacks)."""
    return {
        "dir": "/var/lib/redis",
        "dbfilename": "dump.rdb",
        "requirepass": password,
        "masterauth": "",
        "bind": "0.0.0.0",  # noqa: S104 - a value the fake CONFIG GET shows, not a bind
        "port": "6379",
        "protected-mode": "no",
        "daemonize": "yes",
        "maxmemory": "0",
        "maxclients": "10000",
        "appendonly": "no",
        "save": "3600 1 300 100 60 10000",
        "logfile": "/var/log/redis/redis-server.log",
        "databases": "16",
    }


@dataclass(slots=True)
class RedisSession:
    """One client connection's view: authenticated or not, its own keys and config."""

    conn: Connection
    authenticated: bool
    config: dict[str, str]
    keys: dict[bytes, bytes] = field(default_factory=dict)
    protocol: int = 2  # HELLO 3 switches the connection to RESP3
    closing: bool = False

    def matching_keys(self, pattern: bytes) -> list[bytes]:
        """Keys matching a glob pattern, as `KEYS` returns them."""
        text = pattern.decode("latin-1")
        return [key for key in self.keys if fnmatchcase(key.decode("latin-1"), text)]

    def matching_config(self, pattern: bytes) -> list[tuple[str, str]]:
        """`CONFIG GET` pairs for the parameters matching the pattern."""
        text = pattern.decode("latin-1").lower()
        return [(k, v) for k, v in self.config.items() if fnmatchcase(k, text)]


class InfoText:
    """`INFO` for one server instance; stable identifiers derived from the decky name."""

    def __init__(self, decky: str, version: str, os_line: str = DEFAULT_OS) -> None:
        self._version = version
        self._os = os_line
        self._run_id = hashlib.sha1(decky.encode(), usedforsecurity=False).hexdigest()
        self._pid = 800 + int(self._run_id[:4], 16) % 3000
        self._started = time.monotonic()

    def render(self, session: RedisSession, section: str = "") -> str:
        """The INFO reply body; a section name narrows it like the real server does."""
        sections = {
            "server": self._server(),
            "clients": "connected_clients:1\r\nblocked_clients:0\r\n",
            "memory": "used_memory:1137832\r\nused_memory_human:1.09M\r\nmaxmemory:0\r\n",
            "persistence": "loading:0\r\nrdb_bgsave_in_progress:0\r\naof_enabled:0\r\n",
            "replication": "role:master\r\nconnected_slaves:0\r\n",
            "keyspace": self._keyspace(session),
        }
        wanted = section.lower()
        chosen = {k: v for k, v in sections.items() if wanted in {"", "all", "default", k}}
        return "\r\n".join(f"# {name.title()}\r\n{body}" for name, body in chosen.items())

    def _server(self) -> str:
        uptime = _BASE_UPTIME_S + int(time.monotonic() - self._started)
        return (
            f"redis_version:{self._version}\r\nredis_git_sha1:00000000\r\n"
            f"redis_mode:standalone\r\nos:{self._os}\r\narch_bits:64\r\n"
            f"process_id:{self._pid}\r\nrun_id:{self._run_id}\r\ntcp_port:6379\r\n"
            f"uptime_in_seconds:{uptime}\r\nuptime_in_days:{uptime // 86400}\r\n"
            "executable:/usr/bin/redis-server\r\nconfig_file:/etc/redis/redis.conf\r\n"
        )

    @staticmethod
    def _keyspace(session: RedisSession) -> str:
        if not session.keys:
            return ""
        return f"db0:keys={len(session.keys)},expires=0,avg_ttl=0\r\n"


def os_line(distro: str) -> str:
    """INFO's `os` field (uname -s -r -m) for a decky of `distro`."""
    flavour = DISTROS.get(distro)
    if flavour is None or flavour.nmap_os != "linux":
        return DEFAULT_OS
    words = flavour.kernel.split()
    return f"{words[0]} {words[1]} {words[-1]}"
