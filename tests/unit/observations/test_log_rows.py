"""Log rows as pages read them: `LogRow`'s keys in its order, timestamps as SPEC's ISO-Z text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from application.reads.rows import LogRow
from domain.observations.records import InteractionRecord
from projections.logs import FIELDS_AT, _row
from projections.observed import Observed
from projections.rows import IsoZLoader


def test_a_stored_row_is_the_log_row_in_utc() -> None:
    """The row's stored JSON is `LogRow` with its time in UTC, whatever zone the record had."""
    at = datetime(2026, 4, 18, 7, 30, 0, 250, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    record = InteractionRecord(at, "decky-01", "ssh", "login", "10.0.0.1", "msg", {"k": "v"}, "raw")
    observed = Observed(7, 1, record, at)
    row = _row(observed)
    stored = msgspec.json.decode(row[-1], type=LogRow)
    assert stored == LogRow(
        7,
        "2026-04-18T02:00:00.000250Z",
        "decky-01",
        "ssh",
        "login",
        "10.0.0.1",
        "msg",
        '{"k":"v"}',
        "raw",
    )
    assert row[FIELDS_AT] == stored.fields


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-04-18 02:22:56.5+00", "2026-04-18T02:22:56.500000Z"),
        ("2026-04-18 02:22:56.123456+00", "2026-04-18T02:22:56.123456Z"),
        ("2026-04-18 02:22:56+00", "2026-04-18T02:22:56Z"),
        ("10000-01-01 00:00:00.25+00", "10000-01-01T00:00:00.250000Z"),
        ("2026-04-18 02:22:56.12+05", "2026-04-17T21:22:56.120000Z"),
        ("0001-12-31 23:55:00+00 BC", "0000-12-31T23:55:00Z"),
        ("0002-03-01 00:00:00.5+00 BC", "-0001-03-01T00:00:00.500000Z"),
    ],
)
def test_timestamps_load_as_iso_z_text(stored: str, shown: str) -> None:
    """Six fraction digits when there is a fraction, none otherwise; other zones to UTC; years
    before 1 as ISO 8601 numbers them (1 BC is 0000)."""
    assert IsoZLoader(0).load(stored.encode()) == shown
