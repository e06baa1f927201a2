"""Fuzzing the RFC 5424 parser, formatter and TCP deframer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.observations.records import InteractionRecord
from infrastructure.collector.framing import FrameError, TcpDeframer, octet_count
from infrastructure.collector.rfc5424 import IP_KEYS, SyslogParseError, format_line, parse_line

FUZZ = settings(max_examples=400, deadline=None)
VALID = "<14>1 2026-04-18T02:22:56Z h a - m "

# Pieces that steer random text into the deeper branches of the parser.
_PIECES = st.sampled_from(
    ["<", ">", "1", " ", "-", "[", "]", '"', "\\", "=", "Z", "T", ":", "+", "\ufeff", "src_ip="]
)
_SYSLOGISH = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=30).map("".join)


def _parse_or_reason(line: str | bytes) -> InteractionRecord | str:
    try:
        return parse_line(line)
    except SyslogParseError as exc:
        return exc.reason


@FUZZ
@given(st.one_of(st.text(), st.binary(), _SYSLOGISH, _SYSLOGISH.map(VALID.__add__)))
def test_parse_line_only_raises_syslog_parse_error(line: str | bytes) -> None:
    """Any text or bytes either parse into an aware-UTC record or raise SyslogParseError."""
    result = _parse_or_reason(line)
    if isinstance(result, InteractionRecord):
        assert result.timestamp.utcoffset() == timedelta(0)
        assert "\x00" not in result.raw_line
    else:
        assert result


_HEADER_TOKEN = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12).filter(
    lambda value: value != "-"
)
_SD_NAME_CHARS = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='="]')
_FIELD_KEY = st.text(_SD_NAME_CHARS, min_size=1, max_size=10).filter(lambda k: k not in IP_KEYS)
_LINE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"))
_VALUE = st.one_of(_LINE_TEXT, st.text(st.sampled_from('"\\]é✓ a'), max_size=12))
# Addresses as the collector records them: an IPv4 address mapped into IPv6 is recorded as the
# IPv4 address (`test_rfc5424.py`), so it does not round-trip by design.
_IP = st.one_of(
    st.ip_addresses(v=4), st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None)
).map(str)
_OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@st.composite
def _records(draw: st.DrawFn) -> InteractionRecord:
    attacker = draw(st.none() | _IP)
    fields = draw(st.dictionaries(_FIELD_KEY, _VALUE, max_size=6))
    if attacker is not None:
        fields = {"src_ip": attacker, **fields}
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    return InteractionRecord(
        timestamp=moment.replace(tzinfo=draw(_OFFSETS)),
        decky=draw(_HEADER_TOKEN),
        service=draw(_HEADER_TOKEN),
        event_type=draw(_HEADER_TOKEN),
        attacker_ip=attacker,
        msg=draw(_LINE_TEXT.filter(lambda msg: "=" not in msg)),
        fields=fields,
    )


@FUZZ
@given(_records())
def test_format_then_parse_round_trips(record: InteractionRecord) -> None:
    """parse_line(format_line(r)) gives r back, with the timestamp converted to UTC."""
    line = format_line(record)
    parsed = parse_line(line.encode())
    assert parsed.raw_line == line
    assert replace(parsed, raw_line="") == replace(
        record, timestamp=record.timestamp.astimezone(UTC)
    )


CAP = 64
_LINE_BODY = st.binary(max_size=3 * CAP).filter(lambda b: b"\n" not in b and not b.endswith(b"\r"))


@st.composite
def _framed_messages(draw: st.DrawFn) -> tuple[bytes, list[bytes | str]]:
    """A stream of mixed framing and the frames a correct deframer must produce from it."""
    stream, expected = b"", []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        if draw(st.booleans()):
            message = draw(st.binary(min_size=1, max_size=3 * CAP))
            stream += octet_count(message) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))
        else:
            message = b"<" + draw(_LINE_BODY)
            stream += message + draw(st.sampled_from([b"\n", b"\r\n"]))
        expected.append(message if len(message) <= CAP else "too_long")
    return stream, expected


def _normalise(frames: list[bytes | FrameError]) -> list[bytes | str]:
    return [frame.reason if isinstance(frame, FrameError) else frame for frame in frames]


@FUZZ
@given(_framed_messages(), st.lists(st.integers(min_value=1, max_value=2 * CAP), max_size=40))
def test_deframer_recovers_and_stays_bounded(
    case: tuple[bytes, list[bytes | str]], cuts: list[int]
) -> None:
    """Whatever the chunking, valid frames come out intact, oversize ones as one error each."""
    stream, expected = case
    deframer, frames, pos = TcpDeframer(max_message_size=CAP), [], 0
    for size in [*cuts, len(stream)]:
        frames.extend(deframer.feed(stream[pos : pos + size]))
        assert deframer.buffered <= CAP
        pos += size
    assert _normalise(frames) == expected
    assert deframer.close() == []


@FUZZ
@given(st.lists(st.binary(max_size=3 * CAP), max_size=20))
def test_deframer_never_raises_nor_overbuffers(chunks: list[bytes]) -> None:
    """Arbitrary bytes never raise and never leave more than the cap buffered."""
    deframer = TcpDeframer(max_message_size=CAP)
    for chunk in chunks:
        for frame in deframer.feed(chunk):
            assert isinstance(frame, FrameError) or len(frame) <= CAP
        assert deframer.buffered <= CAP
    deframer.close()
    assert deframer.buffered == 0
