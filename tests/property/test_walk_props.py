"""`walk` skips the per-record NUL scrub only when the stored bytes rule a NUL out (ADR 0023)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.observations.batch import InteractionBatch
from domain.observations.records import InteractionRecord
from infrastructure.eventstore.mapper import MsgspecMapper
from projections.base import Envelope
from projections.observed import Observed, has_no_nul, walk

FUZZ = settings(max_examples=300, deadline=None)
# NUL, backslashes and the text of an escaped NUL are the interesting characters here.
_TEXT = st.lists(
    st.one_of(st.sampled_from(["\x00", "\\", "u0000", "\\u0000", "a"]), st.text(max_size=3)),
    max_size=6,
).map("".join)
_MAPPER = MsgspecMapper()


@st.composite
def _records(draw: st.DrawFn) -> InteractionRecord:
    return InteractionRecord(
        timestamp=datetime(2026, 4, 18, tzinfo=UTC),
        decky=draw(_TEXT),
        service=draw(_TEXT),
        event_type=draw(_TEXT),
        attacker_ip=draw(st.none() | _TEXT),
        msg=draw(_TEXT),
        fields=draw(st.dictionaries(_TEXT, _TEXT, max_size=3)),
        raw_line=draw(_TEXT),
    )


def _has_nul(r: InteractionRecord) -> bool:
    texts = (r.decky, r.service, r.event_type, r.attacker_ip or "", r.msg, r.raw_line)
    return any("\x00" in t for t in (*texts, *r.fields, *r.fields.values()))


def _observed(envelope: Envelope) -> list[Observed]:
    [run] = list(walk([envelope]))
    assert isinstance(run, list)
    return run


@FUZZ
@given(st.lists(_records(), min_size=1, max_size=5))
def test_walk_over_stored_bytes_equals_the_scrubbing_walk(records: list[InteractionRecord]) -> None:
    """Records come out free of NUL and identical whether or not the stored bytes are seen."""
    event = InteractionBatch.observe(records, [], None).collect_events()[0]
    stored = _MAPPER.to_stored_event(event)
    decoded = _MAPPER.to_domain_event(stored)
    fast = _observed(Envelope(7, decoded, stored))
    scrubbed = _observed(Envelope(7, decoded, None))  # no stored bytes: `scrub` every record
    assert fast == scrubbed
    assert not any(_has_nul(o.record) for o in fast)
    assert not (
        any(_has_nul(r) for r in records) and has_no_nul(stored)
    )  # never skipped when a NUL is there
