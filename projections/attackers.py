"""Attacker profiles (with incremental behaviour), the bounty vault and per-attacker commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import msgspec
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg.types.json import Json, Jsonb

from domain.attackers.profile import SNIFFER_EVENT_TYPES, AttackerBehavior
from domain.observations.bounty import dedup_key, derive_bounties
from domain.observations.commands import extract_command
from projections.attackers_schema import AttackerTables, attacker_uuid
from projections.base import Envelope, Tabled, create_trigram_index
from projections.observed import (
    OBSERVED_TOPICS,
    Observed,
    Purge,
    add_counts,
    clean,
    forget_observations,
    walked,
)
from projections.rows import iso_z, utc

BOUNTY_STRIDE = 8  # bounty id = log id * 8 + its index among the record's bounties


def _dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=_dumps)


def _json(value: Any) -> Json:
    """`json` keeps key order as written (the API shows it), `jsonb` would sort it."""
    return Json(value, dumps=_dumps)


@dataclass
class _Profile:
    """An attacker row being updated in memory for one batch."""

    ip: str
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    event_count: int = 0
    services: list[str] = field(default_factory=list)
    deckies: list[str] = field(default_factory=list)
    bounty_count: int = 0
    credential_count: int = 0
    command_count: int = 0
    behavior: AttackerBehavior = field(default_factory=AttackerBehavior)

    def observe(self, o: Observed) -> None:
        r = o.record
        ts = r.timestamp
        self.event_count += 1
        if ts < self.first_seen:  # comparisons, not min/max: this runs for every record
            self.first_seen = ts
        if ts > self.last_seen:
            self.last_seen = ts
        if o.stored_at > self.updated_at:
            self.updated_at = o.stored_at
        if r.event_type not in SNIFFER_EVENT_TYPES and r.service not in self.services:
            self.services.append(r.service)
        if r.decky not in self.deckies:
            self.deckies.append(r.decky)
        self.behavior.observe(r)

    def row(self) -> tuple[Any, ...]:
        traversal = len(self.deckies) >= 2
        return (
            attacker_uuid(self.ip),
            self.ip,
            self.first_seen,
            self.last_seen,
            self.updated_at,
            self.event_count,
            self.services,
            self.deckies,
            len(self.services),
            len(self.deckies),
            traversal,
            self.bounty_count,
            self.credential_count,
            self.command_count,
            _json(self.behavior.behavior()),
            _jsonb(self.behavior.to_state()),
        )


class AttackersProjection(Tabled[AttackerTables]):
    """One row per attacker IP; bounty rows deduplicated on (type, ip, payload)."""

    name = "attackers"
    # v2: a schema of its own; v3: updated_at, fingerprints indexed per attacker; v4: commands
    # per (attacker, service) and bounties per type, for exact totals without counting rows;
    # v5: each bounty's JSON as `/bounty` shows it, stored with it; v6: records stored with an
    # IPv4-mapped address (`::ffff:102:304`) count for that IPv4 attacker (`canonical_attacker`)
    version = 6
    topics = OBSERVED_TOPICS

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = AttackerTables(schema)

    async def create_indexes(
        self, conn: AsyncConnection[Any], side: AsyncConnection[Any] | None = None
    ) -> None:
        await super().create_indexes(conn, side)
        await create_trigram_index(conn, self.tables.bounty_trigram_index(), self.tables.bounty)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        async with conn.cursor() as cur:
            for part in await walked(batch):
                if isinstance(part, Purge):
                    await self._purge(cur, part.position)
                else:
                    await self._observe(cur, part)

    async def _observe(self, cur: AsyncCursor[Any], part: list[Observed]) -> None:
        observed = await anyio.to_thread.run_sync(_with_attacker, part)
        if not observed:
            return
        profiles, new = await _load(cur, self.tables.attackers, observed)
        # The per-record work runs in a worker thread, not on the event loop the API serves
        # from: a catch-up batch holds up to 200,000 records (issue 12).
        candidates, commands = await anyio.to_thread.run_sync(_digest, observed, profiles)
        await self._bounties(cur, candidates, profiles)
        await self._commands(cur, commands)
        rows = await anyio.to_thread.run_sync(lambda: [p.row() for p in profiles.values()])
        await cur.executemany(_upsert(self.tables.attackers), rows)
        await cur.execute(
            f"UPDATE {self.tables.counters} SET value = value + %s WHERE name = 'unique_attackers'",
            (new,),
        )

    async def _bounties(
        self,
        cur: AsyncCursor[Any],
        candidates: dict[str, tuple[Any, ...]],
        profiles: dict[str, _Profile],
    ) -> None:
        if not candidates:
            return
        vault = self.tables.bounty
        await cur.execute(f"SELECT dedup FROM {vault} WHERE dedup = ANY(%s)", (list(candidates),))
        for (known,) in await cur.fetchall():
            candidates.pop(known)
        for row in candidates.values():
            profile = profiles[row[5]]
            profile.bounty_count += 1
            profile.credential_count += row[6] == "credential"
        async with cur.copy(
            f"COPY {vault} (id, dedup, ts, decky, service, attacker_ip, bounty_type, payload,"
            " payload_text, row_json) FROM STDIN"
        ) as copy:
            for row in candidates.values():
                await copy.write_row((*row, _bounty_json(row)))
        await cur.execute(
            f"UPDATE {self.tables.counters} SET value = value + %s WHERE name = 'bounties'",
            (len(candidates),),
        )
        by_type = Counter(row[6] for row in candidates.values())
        await add_counts(cur, self.tables.bounty_counts, ("bounty_type",), ("text",), by_type)

    async def _commands(self, cur: AsyncCursor[Any], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            async with cur.copy(
                f"COPY {self.tables.commands} (id, attacker, ts, decky, service, command)"
                " FROM STDIN"
            ) as copy:
                for row in rows:
                    await copy.write_row(row)
            counts = Counter((row[1], row[4]) for row in rows)
            await add_counts(
                cur, self.tables.command_counts, ("attacker", "service"), ("uuid", "text"), counts
            )

    async def _purge(self, cur: AsyncCursor[Any], position: int) -> None:
        t = self.tables
        await forget_observations(
            cur,
            position,
            counted=(t.counters, "bounties"),
            purges=(t.purges, "bounties"),
            tables=", ".join(t.counted()),
            reset=f"UPDATE {t.counters} SET value = 0",
        )


def _with_attacker(part: list[Observed]) -> list[Observed]:
    return [o for o in part if o.record.attacker_ip]


def _digest(
    observed: list[Observed], profiles: dict[str, _Profile]
) -> tuple[dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Observe every record into its profile; return the bounty candidates (one per dedup key,
    vault rows but their JSON, made only for those the vault lacks) and the command rows
    (counting each attacker's commands)."""
    for o in observed:
        profiles[o.record.attacker_ip or ""].observe(o)
    return _bounty_candidates(observed), _command_rows(observed, profiles)


def _bounty_candidates(observed: list[Observed]) -> dict[str, tuple[Any, ...]]:
    candidates: dict[str, tuple[Any, ...]] = {}
    for o in observed:
        r = o.record
        for k, bounty in enumerate(derive_bounties(r)):
            key = dedup_key(bounty.bounty_type, r.attacker_ip, bounty.payload)
            if key not in candidates:
                payload = msgspec.json.encode(bounty.payload).decode().replace("\\u0000", "")
                candidates[key] = (
                    o.log_id * BOUNTY_STRIDE + k,
                    key,
                    r.timestamp,
                    clean(r.decky),
                    clean(r.service),
                    r.attacker_ip,
                    bounty.bounty_type,
                    payload,
                    payload,
                )
    return candidates


class _StoredBounty(msgspec.Struct):
    """`BountyRow` with its payload as the stored JSON text: encodes as `BountyRow` does."""

    id: int
    timestamp: str
    decky: str
    service: str
    attacker_ip: str | None
    bounty_type: str
    payload: msgspec.Raw


def _bounty_json(row: tuple[Any, ...]) -> str:
    """The vault row's JSON as `/bounty` shows it (ADR 0033)."""
    bounty_id, _, ts, decky, service, ip, bounty_type, payload, _ = row
    stored = _StoredBounty(
        bounty_id, iso_z(utc(ts)), decky, service, ip, bounty_type, msgspec.Raw(payload.encode())
    )
    return _dumps(stored)


def _command_rows(observed: list[Observed], profiles: dict[str, _Profile]) -> list[tuple[Any, ...]]:
    rows = []
    for o in observed:
        command = extract_command(o.record)
        if command is None:
            continue
        ip = o.record.attacker_ip or ""
        profiles[ip].command_count += 1
        r = o.record
        rows.append(
            (
                o.log_id,
                attacker_uuid(ip),
                r.timestamp,
                clean(r.decky),
                clean(r.service),
                clean(command),
            )
        )
    return rows


async def _load(
    cur: AsyncCursor[Any], table: str, observed: list[Observed]
) -> tuple[dict[str, _Profile], int]:
    """Existing profiles of the batch's IPs, plus fresh ones; and how many are new."""
    ips = list(dict.fromkeys(o.record.attacker_ip or "" for o in observed))
    named = cur.connection.cursor(row_factory=dict_row)
    await named.execute(
        f"SELECT ip, first_seen, last_seen, updated_at, event_count, services, deckies,"
        f" bounty_count, credential_count, command_count, state FROM {table} WHERE ip = ANY(%s)",
        (ips,),
    )
    profiles: dict[str, _Profile] = {}
    for row in await named.fetchall():
        state = row.pop("state")
        profiles[row["ip"]] = _Profile(**row, behavior=AttackerBehavior.from_state(state))
    new = 0
    for o in observed:
        ip = o.record.attacker_ip or ""
        if ip not in profiles:
            profiles[ip] = _Profile(ip, o.record.timestamp, o.record.timestamp, o.stored_at)
            new += 1
    return profiles, new


def _upsert(table: str) -> str:
    """Insert or replace one attacker row."""
    return (
        f"INSERT INTO {table} (uuid, ip, first_seen, last_seen, updated_at, event_count, services,"
        " deckies, service_count, decky_count, is_traversal, bounty_count, credential_count,"
        " command_count, behavior, state)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (uuid) DO UPDATE SET first_seen = EXCLUDED.first_seen,"
        " last_seen = EXCLUDED.last_seen, updated_at = EXCLUDED.updated_at,"
        " event_count = EXCLUDED.event_count,"
        " services = EXCLUDED.services, deckies = EXCLUDED.deckies,"
        " service_count = EXCLUDED.service_count, decky_count = EXCLUDED.decky_count,"
        " is_traversal = EXCLUDED.is_traversal, bounty_count = EXCLUDED.bounty_count,"
        " credential_count = EXCLUDED.credential_count, command_count = EXCLUDED.command_count,"
        " behavior = EXCLUDED.behavior, state = EXCLUDED.state"
    )
