"""RFC 5424 parsing and formatting of interaction records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.observations.records import InteractionRecord
from infrastructure.collector.rfc5424 import SyslogParseError, format_line, parse_line

DECNET_LINE = (
    '<134>1 2026-04-18T02:22:56Z decky-01 ssh 1234 auth_attempt [relay@55555 src_ip="10.0.0.5" '
    'username="root" password="toor"] failed password for root'
)


def _reason(line: str | bytes) -> str:
    with pytest.raises(SyslogParseError) as info:
        parse_line(line)
    return info.value.reason


def test_decnet_line_maps_header_and_params() -> None:
    """HOSTNAME, APP-NAME, MSGID, SD params and MSG fill decky, service, event_type, fields, msg."""
    record = parse_line(DECNET_LINE)
    assert record == InteractionRecord(
        timestamp=datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC),
        decky="decky-01",
        service="ssh",
        event_type="auth_attempt",
        attacker_ip="10.0.0.5",
        msg="failed password for root",
        fields={"src_ip": "10.0.0.5", "username": "root", "password": "toor"},
        raw_line=DECNET_LINE,
    )


def test_bytes_input_and_trailing_newline() -> None:
    """Bytes are decoded as UTF-8 and a trailing CRLF is stripped from raw_line and msg."""
    record = parse_line(DECNET_LINE.encode() + b"\r\n")
    assert record.raw_line == DECNET_LINE
    assert record.msg == "failed password for root"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-04-18T02:22:56Z", datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC)),
        ("2026-04-18T04:22:56+02:00", datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC)),
        ("2026-04-17T21:52:56-04:30", datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC)),
        ("2026-04-18T02:22:56.5Z", datetime(2026, 4, 18, 2, 22, 56, 500000, tzinfo=UTC)),
        ("2026-04-18T02:22:56.123456789Z", datetime(2026, 4, 18, 2, 22, 56, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_are_converted_to_utc(stamp: str, expected: datetime) -> None:
    """Z, numeric offsets and fractional seconds all become the same aware UTC instant."""
    timestamp = parse_line(f"<14>1 {stamp} h a - m -").timestamp
    assert timestamp == expected
    assert timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty"),
        ("\n", "empty"),
        (b"\xff\xfe<14>1 2026-04-18T02:22:56Z h a - m -", "not_utf8"),
        ("hello world", "bad_pri"),
        ("<192>1 2026-04-18T02:22:56Z h a - m -", "bad_pri"),
        ("<x>1 2026-04-18T02:22:56Z h a - m -", "bad_pri"),
        ("<14>2 2026-04-18T02:22:56Z h a - m -", "bad_version"),
        ("<14> 2026-04-18T02:22:56Z h a - m -", "bad_version"),
        ("<14>1 2026-04-18T02:22:56Z h a - m", "bad_header"),
        ("<14>1 2026-04-18T02:22:56Z hé a - m -", "bad_header"),
        ("<14>1 - h a - m -", "bad_timestamp"),
        ("<14>1 2026-04-18T02:22:56 h a - m -", "bad_timestamp"),
        ("<14>1 2026-04-18 h a - m -", "bad_timestamp"),
        ("<14>1 2026-13-18T02:22:56Z h a - m -", "bad_timestamp"),
        ("<14>1 0001-01-01T00:30:00+01:00 h a - m -", "bad_timestamp"),
        ("<14>1 2026-04-18T02:22:56Z h a - m x", "bad_structured_data"),
        ("<14>1 2026-04-18T02:22:56Z h a - m -x", "bad_structured_data"),
        ('<14>1 2026-04-18T02:22:56Z h a - m [id k="v"', "bad_structured_data"),
        ('<14>1 2026-04-18T02:22:56Z h a - m [id k="v\\"]', "bad_structured_data"),
        ("<14>1 2026-04-18T02:22:56Z h a - m [id k=v]", "bad_structured_data"),
        ('<14>1 2026-04-18T02:22:56Z h a - m [id k="v"]x', "bad_structured_data"),
        ("<14>1 2026-04-18T02:22:56Z h a - m - nul\x00here", "nul_byte"),
    ],
)
def test_malformed_lines_give_a_reason(line: str | bytes, reason: str) -> None:
    """Each kind of malformed line is rejected with its machine-friendly reason."""
    assert _reason(line) == reason


def test_error_is_a_value_error_with_a_message() -> None:
    """SyslogParseError is a ValueError carrying both the reason and a human message."""
    with pytest.raises(ValueError, match="bad_pri: ") as info:
        parse_line("nope")
    assert isinstance(info.value, SyslogParseError)
    assert info.value.message


def test_nil_header_values_become_empty_strings() -> None:
    """NILVALUE in HOSTNAME, APP-NAME, MSGID and SD gives empty strings and no fields."""
    record = parse_line("<14>1 2026-04-18T02:22:56Z - - - - -")
    assert (record.decky, record.service, record.event_type) == ("", "", "")
    assert record.fields == {}
    assert record.msg == ""


def test_sd_escapes_follow_rfc5424() -> None:
    """Only \\\\, \\" and \\] are escapes; a backslash before anything else stays literal."""
    line = r'<14>1 2026-04-18T02:22:56Z h a - m [id v="a\\b\"c\]d\ne\\"] tail'
    assert parse_line(line).fields == {"v": 'a\\b"c]d\\ne\\'}


def test_unescaped_bracket_inside_quotes_is_accepted() -> None:
    """An unescaped ] inside a quoted value is unambiguous, so it is kept rather than rejected."""
    line = '<14>1 2026-04-18T02:22:56Z h a - m [id v="a]b"]'
    assert parse_line(line).fields == {"v": "a]b"}


def test_params_of_all_elements_first_occurrence_wins() -> None:
    """Params from every SD element are merged; a repeated name keeps its first value."""
    line = '<14>1 2026-04-18T02:22:56Z h a - m [relay@55555 a="1" b="2"][meta x="3" a="9" a="8"]'
    assert parse_line(line).fields == {"a": "1", "b": "2", "x": "3"}


def test_element_without_params_and_empty_value() -> None:
    """An SD element with no params and a param with an empty value are both valid."""
    line = '<14>1 2026-04-18T02:22:56Z h a - m [empty][id k=""] msg'
    record = parse_line(line)
    assert record.fields == {"k": ""}
    assert record.msg == "msg"


def test_bom_before_msg_is_stripped() -> None:
    """A UTF-8 BOM that starts MSG is not part of the message text."""
    line = "<14>1 2026-04-18T02:22:56Z h a - m - \ufeffhéllo"
    assert parse_line(line.encode()).msg == "héllo"


def test_msg_keeps_inner_spacing() -> None:
    """MSG is everything after the single space following STRUCTURED-DATA."""
    assert parse_line("<14>1 2026-04-18T02:22:56Z h a - m -   two  spaces ").msg == "  two  spaces "


@pytest.mark.parametrize(
    ("sd", "msg", "expected"),
    [
        ('[id src="1.1.1.1" src_ip="2.2.2.2"]', "", "2.2.2.2"),
        ('[id ip="3.3.3.3" remote_addr="4.4.4.4"]', "", "4.4.4.4"),
        ('[id src_ip="not-an-ip" client_ip="5.5.5.5"]', "", "5.5.5.5"),
        ('[id src_ip="2001:DB8:0:0::1"]', "", "2001:db8::1"),
        ('[id src_ip="::ffff:1.2.3.4"]', "", "1.2.3.4"),  # a dual-stack socket's IPv4 peer
        ("-", "conn src_ip=::FFFF:0102:0304", "1.2.3.4"),
        ('[id src_ip="::1.2.3.4"]', "", "::102:304"),  # IPv4-compatible: not mapped
        ('[id src_ip="bogus"]', "login from src_ip=6.6.6.6 port=22", "6.6.6.6"),
        ("-", 'conn ip="7.7.7.7"', "7.7.7.7"),
        ("-", "conn ip=8.8.8.8, remote_ip=9.9.9.9", "9.9.9.9"),
        ('[id src_ip="10.0.0.1"]', "src_ip=1.2.3.4", "10.0.0.1"),
        ("-", "nosrc_ip=1.2.3.4", None),
        ("-", "src_ip=999.1.1.1", None),
        ('[id user="root"]', "no address here", None),
    ],
)
def test_attacker_ip_precedence_and_validation(sd: str, msg: str, expected: str | None) -> None:
    """The attacker is the first valid IP by key priority, SD params before MSG tokens."""
    line = f"<14>1 2026-04-18T02:22:56Z h a - m {sd}" + (f" {msg}" if msg else "")
    assert parse_line(line).attacker_ip == expected


def _record(**overrides: object) -> InteractionRecord:
    base = InteractionRecord(
        timestamp=datetime(2026, 4, 18, 2, 22, 56, 120000, tzinfo=UTC),
        decky="decky-01",
        service="http",
        event_type="request",
        attacker_ip="192.0.2.7",
        msg="GET /admin",
        fields={"src_ip": "192.0.2.7", "path": '/a"b]c\\d', "ua": "naïve ✓"},
    )
    # Overrides are per-field values mypy sees only as `object`.
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_format_then_parse_round_trips() -> None:
    """A formatted record parses back to itself (raw_line aside)."""
    record = _record()
    parsed = parse_line(format_line(record))
    assert replace(parsed, raw_line="") == record


def test_format_escapes_sd_values() -> None:
    """format_line escapes backslash, quote and ] inside SD values."""
    line = format_line(_record(fields={"v": 'a"b]c\\d'}))
    assert '[relay@55555 v="a\\"b\\]c\\\\d"]' in line


def test_format_uses_nil_for_empty_parts_and_utc_z() -> None:
    """Empty header values and no fields become NILVALUE; the timestamp is UTC with Z."""
    plus_two = timezone(timedelta(hours=2))
    record = _record(
        timestamp=datetime(2026, 4, 18, 4, 22, 56, tzinfo=plus_two),
        decky="",
        service="",
        event_type="",
        fields={},
        msg="",
    )
    assert format_line(record) == "<134>1 2026-04-18T02:22:56Z - - - - -"


def test_format_adds_bom_for_non_ascii_msg_only() -> None:
    """Non-ASCII MSG is marked with a BOM as RFC 5424 asks; ASCII MSG is not."""
    assert format_line(_record(msg="héllo")).endswith(" \ufeffhéllo")
    assert format_line(_record(msg="hello")).endswith("] hello")


@pytest.mark.parametrize(
    "overrides",
    [
        {"timestamp": datetime(2026, 4, 18)},
        {"decky": "has space"},
        {"service": "-"},
        {"event_type": "ünicode"},
        {"msg": "two\nlines"},
        {"fields": {"bad key": "v"}},
        {"fields": {"k": "cr\rhere"}},
    ],
)
def test_format_rejects_what_one_line_cannot_carry(overrides: dict[str, object]) -> None:
    """format_line raises ValueError instead of emitting a line that would not round-trip."""
    with pytest.raises(ValueError, match=r"."):
        format_line(_record(**overrides))
