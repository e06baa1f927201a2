"""ISO-8601 UTC text for behaviour timestamps: `Z` suffix, as the API prints them (SPEC §2)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(ts: datetime) -> str:
    """`2026-04-18T02:22:56Z` (microseconds kept when present, so state round-trips exactly)."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_z_or_none(ts: datetime | None) -> str | None:
    """`iso_z`, passing None through."""
    return None if ts is None else iso_z(ts)


def parse_ts_or_none(text: str | None) -> datetime | None:
    """The inverse of `iso_z_or_none` (Python 3.11 reads the `Z` suffix)."""
    return None if text is None else datetime.fromisoformat(text)
