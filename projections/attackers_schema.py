"""Tables of the attacker read models: profiles with behaviour, bounty vault, commands."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from psycopg import AsyncConnection

from projections.schema import READ_SCHEMA

ATTACKERS = f"{READ_SCHEMA}.attackers"
BOUNTY = f"{READ_SCHEMA}.bounty"
COMMANDS = f"{READ_SCHEMA}.attacker_commands"
COUNTERS = f"{READ_SCHEMA}.attacker_counters"
PURGES = f"{READ_SCHEMA}.attacker_purges"
ATTACKER_NAMESPACE = uuid5(NAMESPACE_URL, "https://decnet-es/attackers")


def attacker_uuid(ip: str) -> UUID:
    """Derived from the IP, so it survives rebuilds."""
    return uuid5(ATTACKER_NAMESPACE, ip)


_STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS {ATTACKERS} (uuid uuid PRIMARY KEY, ip text NOT NULL UNIQUE,"
    " first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, event_count bigint NOT NULL,"
    " services text[] NOT NULL, deckies text[] NOT NULL, service_count int NOT NULL,"
    " decky_count int NOT NULL, is_traversal boolean NOT NULL, bounty_count bigint NOT NULL,"
    " credential_count bigint NOT NULL, command_count bigint NOT NULL, behavior json NOT NULL,"
    " state jsonb NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS attackers_recent ON {ATTACKERS} (last_seen DESC, uuid)",
    f"CREATE INDEX IF NOT EXISTS attackers_active ON {ATTACKERS} (event_count DESC, uuid)",
    f"CREATE INDEX IF NOT EXISTS attackers_traversals ON {ATTACKERS}"
    " (is_traversal DESC, decky_count DESC, last_seen DESC, uuid)",
    f"CREATE INDEX IF NOT EXISTS attackers_services ON {ATTACKERS} USING gin (services)",
    f"CREATE TABLE IF NOT EXISTS {BOUNTY} (id bigint PRIMARY KEY, dedup text NOT NULL UNIQUE,"
    " ts timestamptz NOT NULL, decky text NOT NULL, service text NOT NULL, attacker_ip text,"
    " bounty_type text NOT NULL, payload json NOT NULL, payload_text text NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS bounty_type_id ON {BOUNTY} (bounty_type, ts DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS bounty_ts_id ON {BOUNTY} (ts DESC, id DESC)",
    f"CREATE TABLE IF NOT EXISTS {COMMANDS} (id bigint PRIMARY KEY, attacker uuid NOT NULL,"
    " ts timestamptz NOT NULL, decky text NOT NULL, service text NOT NULL, command text NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS commands_attacker ON {COMMANDS} (attacker, ts, id)",
    f"CREATE TABLE IF NOT EXISTS {COUNTERS} (name text PRIMARY KEY, value bigint NOT NULL)",
    f"INSERT INTO {COUNTERS} VALUES ('unique_attackers', 0), ('bounties', 0)"
    " ON CONFLICT DO NOTHING",
    f"CREATE TABLE IF NOT EXISTS {PURGES} (position bigint PRIMARY KEY, bounties bigint NOT NULL)",
)


async def create_attackers(conn: AsyncConnection[Any]) -> None:
    """Create tables and indexes."""
    for statement in _STATEMENTS:
        await conn.execute(statement)


async def drop_attackers(conn: AsyncConnection[Any]) -> None:
    """Drop every table of the model."""
    await conn.execute(
        f"DROP TABLE IF EXISTS {ATTACKERS}, {BOUNTY}, {COMMANDS}, {COUNTERS}, {PURGES}"
    )
