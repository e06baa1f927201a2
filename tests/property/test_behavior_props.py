"""Properties of the incremental behaviour state: rebuild equivalence and exact statistics."""

from __future__ import annotations

import json
import math
import statistics
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.attackers.profile import AttackerBehavior
from domain.attackers.timing import MEDIAN_WINDOW, TimingState
from domain.observations.records import InteractionRecord
from tests.unit.attackers.builders import BASE

EVENT_TYPES = [
    "connect", "auth_attempt", "request", "command", "exec", "file_captured",
    "download", "tcp_syn_fingerprint", "tls_client_hello", "disconnect",
]  # fmt: skip
FIELD_VALUES = {
    "user_agent": st.sampled_from(["curl/8.0", "sqlmap/1.8", "Mozilla/5.0", "Nmap"]),
    "client_version": st.sampled_from(["SSH-2.0-Go", "SSH-2.0-paramiko_3.4", "SSH-2.0-OpenSSH_9"]),
    "ttl": st.sampled_from(["48", "64", "117", "128", "250", "x"]),
    "os_guess": st.sampled_from(["linux", "windows", "unknown", ""]),
    "window": st.sampled_from(["64240", "8192"]),
    "hop_distance": st.sampled_from(["0", "3", "bad"]),
    "size": st.sampled_from(["10", "1048576", "9999999", "n/a"]),
}

# Offsets in microseconds, occasionally negative so records arrive out of order.
offsets = st.integers(min_value=-2_000_000, max_value=120_000_000)

records = st.lists(
    st.builds(
        lambda offset, service, event_type, fields: (offset, service, event_type, fields),
        offsets,
        st.sampled_from(["ssh", "http", "ftp", "sniffer"]),
        st.sampled_from(EVENT_TYPES),
        st.fixed_dictionaries({}, optional=FIELD_VALUES),
    ),
    max_size=40,
)


def materialise(raw: list[tuple[int, str, str, dict[str, str]]]) -> list[InteractionRecord]:
    """Records whose timestamps accumulate the drawn offsets from BASE."""
    out, now = [], BASE
    for offset, service, event_type, fields in raw:
        now += timedelta(microseconds=offset)
        out.append(
            InteractionRecord(now, "decky-01", service, event_type, "198.51.100.9", "", fields)
        )
    return out


def expected_iats(raw_offsets: list[int]) -> list[float]:
    """IATs by the documented rule: from the latest timestamp so far, clamped at zero."""
    times = [sum(raw_offsets[: i + 1]) for i in range(len(raw_offsets))]
    latest, iats = times[0], []
    for t in times[1:]:
        iats.append(max(t - latest, 0) / 1_000_000)
        latest = max(latest, t)
    return iats


@settings(max_examples=300)
@given(raw=records, data=st.data())
def test_rebuild_through_stored_state_is_identical(
    raw: list[tuple[int, str, str, dict[str, str]]], data: st.DataObject
) -> None:
    """Feeding all records equals feeding a prefix, a JSON store-and-reload, then the rest."""
    recs = materialise(raw)
    split = data.draw(st.integers(min_value=0, max_value=len(recs)))
    whole = AttackerBehavior()
    for rec in recs:
        whole.observe(rec)
    first = AttackerBehavior()
    for rec in recs[:split]:
        first.observe(rec)
    resumed = AttackerBehavior.from_state(json.loads(json.dumps(first.to_state())))
    for rec in recs[split:]:
        resumed.observe(rec)
    assert resumed.to_state() == whole.to_state()
    assert resumed.behavior() == whole.behavior()


@settings(max_examples=300)
@given(raw_offsets=st.lists(offsets, min_size=2, max_size=200))
def test_timing_matches_statistics_module(raw_offsets: list[int]) -> None:
    """Incremental mean, population stdev, median, min and max match `statistics` within 1e-6."""
    timing = TimingState()
    now = BASE
    for offset in raw_offsets:
        now += timedelta(microseconds=offset)
        timing.add(now)
    iats = expected_iats(raw_offsets)
    assert len(iats) <= MEDIAN_WINDOW  # so the median here is the exact one
    snap = timing.snapshot()
    assert math.isclose(snap["mean_iat_s"], statistics.fmean(iats), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(snap["stdev_iat_s"], statistics.pstdev(iats), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(snap["median_iat_s"], statistics.median(iats), abs_tol=1e-6)
    assert (snap["min_iat_s"], snap["max_iat_s"]) == (min(iats), max(iats))
