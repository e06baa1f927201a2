"""The per-minute counting shortcuts give the buckets the record-by-record definitions give."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.observations.records import InteractionRecord
from projections.histogram import _tally, quarter_totals
from projections.logs import value_counts
from projections.observed import (
    Observed,
    ceil_to,
    floor_to,
    hour_of,
    minute_of,
    minutes_of,
    units_since_epoch,
)

FUZZ = settings(max_examples=300, deadline=None)
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(seconds=-30))]
)
# Any year (far ones take the exact path), and stamps a microsecond before a minute ends.
_STAMPS = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=_ZONES),
    st.integers(min_value=1, max_value=4_000_000_000).map(
        lambda m: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=m, microseconds=-1)
    ),
)


@FUZZ
@given(stamps=st.lists(_STAMPS, max_size=30))
def test_minutes_of_is_minute_of_each(stamps: list[datetime]) -> None:
    """Same instants and the same zones as `minute_of`, whatever the mix."""
    fast = minutes_of(stamps)
    exact = [minute_of(ts) for ts in stamps]
    assert fast == exact
    assert [m.utcoffset() for m in fast] == [m.utcoffset() for m in exact]


@FUZZ
@given(
    rows=st.lists(
        st.tuples(_STAMPS, st.sampled_from("ab"), st.sampled_from("xy"), st.sampled_from("cd")),
        max_size=40,
    )
)
def test_tally_counts_as_a_loop_over_the_records(
    rows: list[tuple[datetime, str, str, str]],
) -> None:
    """Every table's counts are the records' counts, key by key, in the records' order."""
    observed = [
        Observed(i, 1, InteractionRecord(ts, d, s, e, None), ts)
        for i, (ts, d, s, e) in enumerate(rows)
    ]
    cross, totals, per_dimension = _tally(observed)
    assert list(cross.items()) == list(
        Counter((minute_of(ts), d, s, e) for ts, d, s, e in rows).items()
    )
    assert totals == Counter(minute_of(ts) for ts, *_ in rows)
    assert per_dimension["decky"] == Counter((d, minute_of(ts)) for ts, d, _, _ in rows)
    assert per_dimension["service"] == Counter((s, minute_of(ts)) for ts, _, s, _ in rows)
    assert per_dimension["event_type"] == Counter((e, minute_of(ts)) for ts, _, _, e in rows)


_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@FUZZ
@given(
    stamps=st.lists(st.one_of(_STAMPS, st.just(_LAST)), max_size=30),
    unit=st.sampled_from([timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=1)]),
)
def test_units_since_epoch_floor_exactly(stamps: list[datetime], unit: timedelta) -> None:
    """The float fast path and the exact path agree, the last microsecond of year 9999
    included (its float `timestamp()` rounds up into year 10000)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert [int(k) for k in units_since_epoch(stamps, unit)] == [
        (ts - epoch) // unit for ts in stamps
    ]


def _utc_exists(ts: datetime) -> bool:
    """Whether the instant has a UTC datetime: 9999-12-31T23:59:59.999999 at a negative offset
    is in year 10000, which no record can carry (the collector converts to UTC and
    dead-letters what overflows; records are UTC), and which has no UTC hour to count in."""
    try:
        ts.astimezone(UTC)
    except OverflowError:
        return False
    return True


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(_STAMPS.filter(_utc_exists), st.just(_LAST)),
            st.sampled_from("ab"),
            st.sampled_from("xy"),
            st.sampled_from("cd"),
        ),
        max_size=40,
    )
)
def test_value_counts_count_each_record_in_its_utc_hour(
    rows: list[tuple[datetime, str, str, str]],
) -> None:
    """The logs model's per-hour value counts (ADR 0026) are a loop over the records."""
    observed = [
        Observed(i, 1, InteractionRecord(ts, d, s, e, None), ts)
        for i, (ts, d, s, e) in enumerate(rows)
    ]
    values, hour_values, (by_decky, by_service, by_event) = value_counts(observed)
    assert values == Counter((d, s, e) for _, d, s, e in rows)
    assert hour_values == Counter((hour_of(ts), d, s, e) for ts, d, s, e in rows)
    assert by_decky == Counter((hour_of(ts), d) for ts, d, _, _ in rows)
    assert by_service == Counter((hour_of(ts), s) for ts, _, s, _ in rows)
    assert by_event == Counter((hour_of(ts), e) for ts, _, _, e in rows)


@FUZZ
@given(stamps=st.lists(_STAMPS.filter(_utc_exists), max_size=40))
def test_quarter_totals_count_each_minute_in_its_utc_quarter(stamps: list[datetime]) -> None:
    """The quarter-hour totals summed from the minute totals count each minute bucket in the
    UTC quarter it starts in (a histogram may take whole quarters from one table and the
    minutes around them from the other); for a record in a zone of whole minutes, as every
    record is (UTC), that is its own UTC quarter (ADR 0031)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    quarter = timedelta(minutes=15)

    def quarter_of(ts: datetime) -> datetime:
        return epoch + (ts - epoch) // quarter * quarter

    minutes = Counter(minute_of(ts) for ts in stamps)
    quarters = quarter_totals(minutes)
    assert quarters == Counter(quarter_of(minute_of(ts)) for ts in stamps)
    whole = [
        ts for ts in stamps if (ts.utcoffset() or timedelta()) % timedelta(minutes=1) == timedelta()
    ]
    assert quarter_totals(Counter(minute_of(ts) for ts in whole)) == Counter(map(quarter_of, whole))


@FUZZ
@given(
    ts=_STAMPS,
    unit=st.sampled_from([timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=1)]),
)
def test_floor_and_ceil_bracket_the_time_by_whole_utc_units(ts: datetime, unit: timedelta) -> None:
    """The floor is the unit holding `ts` (in UTC, whole units since the epoch), the ceiling the
    first unit start at or after it."""
    floor = floor_to(ts, unit)
    assert floor.utcoffset() == timedelta(0)
    assert timedelta(0) <= ts - floor < unit
    assert (floor - datetime(1970, 1, 1, tzinfo=UTC)) % unit == timedelta(0)
    try:
        ceil = ceil_to(ts, unit)
    except OverflowError:  # the last unit a datetime has: no start after it
        return
    assert ceil == (floor if floor == ts else floor + unit)
    assert timedelta(0) <= ceil - ts < unit
