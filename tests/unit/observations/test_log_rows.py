"""Log rows as pages read them: columns in `LogRow`'s order, timestamps as SPEC's ISO-Z text."""

from __future__ import annotations

import pytest

from application.reads.rows import LogRow
from projections.logs_queries import LOG_COLUMNS
from projections.rows import IsoZLoader


def test_log_columns_name_the_row_fields_in_order() -> None:
    """Each selected column (or its alias) is the `LogRow` field at the same place."""
    names = [column.split(" AS ")[-1].strip() for column in LOG_COLUMNS.split(",")]
    assert names == list(LogRow.__struct_fields__)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-04-18 02:22:56.5+00", "2026-04-18T02:22:56.500000Z"),
        ("2026-04-18 02:22:56.123456+00", "2026-04-18T02:22:56.123456Z"),
        ("2026-04-18 02:22:56+00", "2026-04-18T02:22:56Z"),
        ("10000-01-01 00:00:00.25+00", "10000-01-01T00:00:00.250000Z"),
        ("2026-04-18 02:22:56.12+05", "2026-04-17T21:22:56.120000Z"),
    ],
)
def test_timestamps_load_as_iso_z_text(stored: str, shown: str) -> None:
    """Six fraction digits when there is a fraction, none otherwise; other zones to UTC."""
    assert IsoZLoader(0).load(stored.encode()) == shown
