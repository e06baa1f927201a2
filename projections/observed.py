"""Shared helpers for the read models built from observed interactions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import anyio
import msgspec
from psycopg import AsyncCursor

from domain.observations.addresses import canonical_ip
from domain.observations.batch import InteractionBatch, ObservationsPurge
from domain.observations.records import InteractionRecord
from domain.shared.topics import stored_topics
from projections.base import Envelope

_encode_json = msgspec.json.Encoder().encode
OBSERVED_TOPICS = stored_topics(
    InteractionBatch.InteractionsObserved, ObservationsPurge.ObservationsPurged
)
# Log ids: the batch's global position times this, plus the record's index in the batch.
# Deterministic, strictly increasing in ingestion order, and stable across rebuilds.
ID_STRIDE = 1024


def log_id(position: int, index: int) -> int:
    """The id of the `index`-th record of the batch stored at `position`."""
    return position * ID_STRIDE + index


def clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL; drop it (the search language drops it too)."""
    return text.replace("\x00", "") if "\x00" in text else text


def clean_fields(fields: dict[str, str]) -> dict[str, str]:
    """Fields without NUL characters in keys or values."""
    return {clean(k): clean(v) for k, v in fields.items()}


def scrub(record: InteractionRecord) -> InteractionRecord:
    """The record without NUL anywhere (emulators and imports can carry it; PostgreSQL cannot)."""
    fields = record.fields
    # One join and one scan: this runs for every record of every batch.
    blob = "".join(
        (record.msg, record.raw_line, record.decky, record.service, record.event_type,
         record.attacker_ip or "", *fields, *fields.values())
    )  # fmt: skip
    if "\x00" not in blob:
        return record
    return InteractionRecord(
        timestamp=record.timestamp,
        decky=clean(record.decky),
        service=clean(record.service),
        event_type=clean(record.event_type),
        attacker_ip=clean(record.attacker_ip) if record.attacker_ip else None,
        msg=clean(record.msg),
        fields=clean_fields(record.fields),
        raw_line=clean(record.raw_line),
    )


def has_no_nul(stored: Any) -> bool:
    """True when an event's stored JSON cannot hold a NUL, so its records need no `scrub`.

    JSON writes NUL as the escape `\\u0000` (a raw NUL byte is checked too); their absence
    from the bytes rules a NUL out in every string of the event (an escaped backslash before
    `u0000` may match and just sends the event through `scrub`). Two `bytes` searches per
    event instead of one join per record.
    """
    state = getattr(stored, "state", None)
    return isinstance(state, bytes) and b"\\u0000" not in state and b"\x00" not in state


def may_hold_mapped_address(stored: Any) -> bool:
    """False when no record of an event's stored JSON can carry an IPv4 address mapped into IPv6
    (`::ffff:1.2.3.4`, written `::ffff:102:304` by the collector before stop 33), so none needs
    `canonical_attacker`: one `bytes` search per event (~0.16 µs a record), since every writer
    of such an address wrote it in lower case (the collector through `ipaddress`, emulators and
    the sniffer through the kernel's `inet_ntop`); a text that merely mentions one costs that
    event a look at each record's address, nothing more."""
    state = getattr(stored, "state", None)
    return not isinstance(state, bytes) or b"::ffff:" in state


def canonical_attacker(record: InteractionRecord) -> InteractionRecord:
    """The record with its attacker address as the collector writes it today.

    Records stored before stop 33 keep the IPv4-mapped form a dual-stack listener reported
    (`::ffff:102:304`); the event stays as stored (the history, the evidence and the tree show
    it so), and every read model reads the IPv4 address, so that attacker is one attacker
    whichever socket saw it and whenever it was stored.
    """
    ip = record.attacker_ip
    if ip is None or ":" not in ip:
        return record
    canonical = canonical_ip(ip)
    if canonical is None or canonical == ip:
        return record
    return replace(record, attacker_ip=canonical)


@dataclass(frozen=True, slots=True)
class Observed:
    """One record with its log id, the batch position it came from and when that was stored."""

    log_id: int
    position: int
    record: InteractionRecord
    stored_at: datetime  # the batch event's own timestamp: in the log, so rebuilds agree


@dataclass(frozen=True, slots=True)
class Purge:
    """A reinit at this position."""

    position: int


def walk(batch: Sequence[Envelope]) -> Iterator[list[Observed] | Purge]:
    """Runs of records between purges, in store order."""
    run: list[Observed] = []
    for envelope in batch:
        event = envelope.event
        if isinstance(event, ObservationsPurge.ObservationsPurged):
            if run:
                yield run
                run = []
            yield Purge(envelope.position)
            continue
        records: list[InteractionRecord] = event.records
        stored_at: datetime = event.timestamp
        position = envelope.position
        if not has_no_nul(envelope.stored):
            records = [scrub(r) for r in records]
        if may_hold_mapped_address(envelope.stored):
            records = [canonical_attacker(r) for r in records]
        run.extend(
            Observed(log_id(position, i), position, r, stored_at) for i, r in enumerate(records)
        )
    if run:
        yield run


async def walked(batch: Sequence[Envelope]) -> list[list[Observed] | Purge]:
    """`walk` in a worker thread: a catch-up batch holds up to 200,000 records, whose scrubbing
    on the event loop would stall every request the process serves meanwhile."""
    return await anyio.to_thread.run_sync(lambda: list(walk(batch)))


def minute_of(ts: datetime) -> datetime:
    """The minute bucket a timestamp falls in."""
    return ts.replace(second=0, microsecond=0)


def minutes_of(stamps: Sequence[datetime]) -> list[datetime]:
    """`minute_of` of each timestamp; in C but one `minute_of` per distinct minute when every
    one is in UTC (records are: a batch of 1,000 spans a few minutes)."""
    if set(map(_tzinfo, stamps)) != {UTC}:
        return [minute_of(ts) for ts in stamps]
    keys = units_since_epoch(stamps, MINUTE)
    minute = {k: EPOCH + int(k) * MINUTE for k in set(keys)}
    return [minute[k] for k in keys]


MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_to(ts: datetime, unit: timedelta) -> datetime:
    """The start of `ts`'s `unit` (a minute, quarter hour, hour: whole units since the epoch);
    in UTC for an aware time, naive for a naive one."""
    epoch = EPOCH if ts.tzinfo is not None else EPOCH.replace(tzinfo=None)
    return epoch + (ts - epoch) // unit * unit


def ceil_to(ts: datetime, unit: timedelta) -> datetime:
    """The first start of a `unit` at or after `ts`."""
    floor = floor_to(ts, unit)
    return floor if floor == ts else floor + unit


def units_since_epoch(stamps: Sequence[datetime], unit: timedelta) -> list[float] | list[int]:
    """Each timestamp's whole `unit`s since the epoch (floor), in C when it can: the float floor
    of `timestamp()` is exact while a double's step stays under 1 µs, i.e. within ±2^33 s of
    1970; a stamp beyond that (attacker-chosen years: 9999-12-31T23:59:59.999999 rounds up into
    year 10000) takes the exact `timedelta` path for the whole batch."""
    seconds = unit.total_seconds()
    keys = [ts.timestamp() // seconds for ts in stamps]
    exact = 2**33 // seconds
    if keys and not -exact < min(keys) <= max(keys) < exact:
        return [(ts - EPOCH) // unit for ts in stamps]
    return keys


_tzinfo = attrgetter("tzinfo")


def hour_of(ts: datetime) -> datetime:
    """The UTC hour a timestamp falls in (UTC: an offset like +05:30 is not hour-aligned)."""
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def forget_observations(
    cur: AsyncCursor[Any],
    position: int,
    counted: tuple[str, str],
    purges: tuple[str, str],
    tables: str,
    reset: str,
) -> None:
    """A purge: record how many `counted` (counter table, name) there were, then empty `tables`.

    `purges` is (table, column) receiving (position, count); `reset` is the counter update.
    """
    counter_table, counter_name = counted
    await cur.execute(f"SELECT value FROM {counter_table} WHERE name = %s", (counter_name,))
    row = await cur.fetchone()
    purge_table, column = purges
    await cur.execute(
        f"INSERT INTO {purge_table} (position, {column}) VALUES (%s, %s)",
        (position, row[0] if row else 0),
    )
    await cur.execute(f"TRUNCATE {tables}")
    await cur.execute(reset)


async def add_counts(
    cur: AsyncCursor[Any],
    table: str,
    key: tuple[str, ...],
    types: tuple[str, ...],
    counts: Counter[Any],
    returning: int | None = None,
    made: tuple[tuple[str, str], ...] = (),
) -> list[tuple[Any, ...]]:
    """Add `counts` (keyed by tuples, or by a single value) to `table` in one statement.

    The rows travel as one JSON array encoded in C (a batch can hold 100,000 keys; psycopg's
    array dumper spends ~100 ms of Python on each such column). With `returning`, the keys
    whose new count is at least that come back with it (key columns, then the count). `made`
    are columns written once, when a key's row is made: (name, SQL over the key's columns).
    """
    names = ", ".join(key)
    try:
        # Off the event loop: a catch-up batch can hold 100,000 keys.
        payload = await anyio.to_thread.run_sync(_counts_json, counts)
    except (UnicodeEncodeError, msgspec.EncodeError):  # lone surrogates: the array path copes
        return await _add_counts_arrays(cur, table, key, types, counts, returning, made)
    tupled = len(key) > 1
    fields = ", ".join(
        f"(e->0->>{i})::{t} AS {name}" if tupled else f"(e->>0)::{t} AS {name}"
        for i, (name, t) in enumerate(zip(key, types, strict=True))
    )
    rows = f"SELECT {fields}, (e->>1)::bigint AS count FROM json_array_elements(%s::json) e"
    return await _upsert(cur, _counted(table, names, rows, made), [payload], names, returning)


def _counted(table: str, names: str, rows: str, made: tuple[tuple[str, str], ...]) -> str:
    """The upsert adding `rows` (key columns, then `count`) to `table`, making `made`'s columns
    for new keys."""
    if made:
        made_names = "".join(f", {name}" for name, _ in made)
        rows = f"SELECT k.*{''.join(f', {sql}' for _, sql in made)} FROM ({rows}) AS k"
    else:
        made_names = ""
    return (
        f"INSERT INTO {table} ({names}, count{made_names}) {rows}"
        f" ON CONFLICT ({names}) DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )


async def _upsert(
    cur: AsyncCursor[Any], sql: str, params: list[Any], names: str, returning: int | None
) -> list[tuple[Any, ...]]:
    if returning is None:
        await cur.execute(sql, params)
        return []
    await cur.execute(
        f"WITH up AS ({sql} RETURNING {names}, count) SELECT * FROM up WHERE count >= %s",
        [*params, returning],
    )
    return await cur.fetchall()


def _counts_json(counts: Counter[Any]) -> str:
    """`counts` as a JSON array of [key, count] (a tuple key as an array), in the counter's
    order: the records' order, deterministic (so is the statement). Not sorted: one model's
    tables have one writer at a time (the position's row lock), and sorting a rebuild batch's
    ~100,000 keys (datetimes first) cost more than counting them. No Python runs per key."""
    return _encode_json(list(counts.items())).decode()


async def _add_counts_arrays(
    cur: AsyncCursor[Any],
    table: str,
    key: tuple[str, ...],
    types: tuple[str, ...],
    counts: Counter[Any],
    returning: int | None = None,
    made: tuple[tuple[str, str], ...] = (),
) -> list[tuple[Any, ...]]:
    keys = sorted(counts)
    columns = [[k[i] for k in keys] for i in range(len(key))] if len(key) > 1 else [keys]
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    names = ", ".join(key)
    rows = f"SELECT * FROM unnest({arrays}, %s::bigint[]) AS u({names}, count)"
    return await _upsert(
        cur,
        _counted(table, names, rows, made),
        [*columns, [counts[k] for k in keys]],
        names,
        returning,
    )
