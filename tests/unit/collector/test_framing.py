"""RFC 6587 deframing of syslog TCP streams."""

from __future__ import annotations

import pytest

from infrastructure.collector.framing import FrameError, TcpDeframer, octet_count

MSG_A = b"<14>1 2026-04-18T02:22:56Z h a - m - first"
MSG_B = b"<14>1 2026-04-18T02:22:57Z h a - m - second\nwith a newline"


def _feed_all(deframer: TcpDeframer, chunks: list[bytes]) -> list[bytes | FrameError]:
    frames: list[bytes | FrameError] = []
    for chunk in chunks:
        frames.extend(deframer.feed(chunk))
    return frames


def test_octet_counted_messages_may_contain_newlines() -> None:
    """Octet-counted frames are cut by their length, so embedded LFs survive."""
    stream = octet_count(MSG_A) + octet_count(MSG_B)
    assert TcpDeframer().feed(stream) == [MSG_A, MSG_B]


def test_newline_framed_messages_tolerate_crlf_and_blank_lines() -> None:
    """LF ends a message, a CR before it is dropped, and empty lines are skipped."""
    stream = MSG_A + b"\r\n\r\n\n" + MSG_A + b"\n"
    assert TcpDeframer().feed(stream) == [MSG_A, MSG_A]


def test_framing_is_detected_per_message() -> None:
    """Octet-counted and LF-framed messages can alternate on one stream."""
    stream = octet_count(MSG_A) + MSG_A + b"\n" + octet_count(MSG_B) + b"\n" + MSG_A + b"\n"
    assert TcpDeframer().feed(stream) == [MSG_A, MSG_A, MSG_B, MSG_A]


def test_byte_at_a_time_gives_the_same_messages() -> None:
    """Messages split across arbitrary chunk boundaries are reassembled."""
    stream = octet_count(MSG_B) + MSG_A + b"\r\n" + octet_count(MSG_A)
    deframer = TcpDeframer()
    frames = _feed_all(deframer, [stream[i : i + 1] for i in range(len(stream))])
    assert frames == [MSG_B, MSG_A, MSG_A]
    assert deframer.buffered == 0


def test_pending_message_is_not_emitted_early() -> None:
    """A partial octet frame or unterminated line waits for more bytes."""
    deframer = TcpDeframer()
    assert deframer.feed(octet_count(MSG_A)[:-1]) == []
    assert deframer.feed(MSG_A[-1:] + MSG_A) == [MSG_A]
    assert deframer.feed(b"\n") == [MSG_A]


def test_oversized_octet_frame_is_skipped_by_its_length() -> None:
    """A declared length above the cap yields one error and the next frame is still read."""
    deframer = TcpDeframer(max_message_size=100)
    big = b"<14>1 " + b"x" * 200
    frames = _feed_all(
        deframer, [octet_count(big)[:50], octet_count(big)[50:] + octet_count(MSG_A)]
    )
    assert frames == [FrameError("too_long", len(big)), MSG_A]
    assert deframer.buffered == 0


def test_oversized_line_is_discarded_up_to_the_next_newline() -> None:
    """An LF-framed message longer than the cap yields one error without buffering it."""
    deframer = TcpDeframer(max_message_size=100)
    frames = [*deframer.feed(b"<14>1 " + b"y" * 150)]
    assert frames == [FrameError("too_long", None)]
    assert deframer.buffered == 0
    frames = deframer.feed(b"y" * 500 + b"\n" + MSG_A + b"\n")
    assert frames == [MSG_A]


def test_error_detail_names_the_size_only_when_known() -> None:
    """The dead letter's detail gives the declared or observed size, never "None bytes"."""
    assert FrameError("too_long", 21).detail == "frame too_long (21 bytes)"
    assert FrameError("too_long", None).detail == "frame too_long (no end of line within the cap)"


def test_oversized_line_in_one_chunk_is_reported() -> None:
    """A complete line above the cap is an error, not a message."""
    deframer = TcpDeframer(max_message_size=10)
    assert deframer.feed(b"<" + b"z" * 20 + b"\n" + b"<ok>\n") == [
        FrameError("too_long", 21),
        b"<ok>",
    ]


def test_message_exactly_at_the_cap_is_delivered() -> None:
    """The cap is inclusive for both framings."""
    deframer = TcpDeframer(max_message_size=len(MSG_A))
    assert deframer.feed(octet_count(MSG_A) + MSG_A + b"\n") == [MSG_A, MSG_A]


def test_digit_start_without_length_is_treated_as_a_line() -> None:
    """A line starting with digits but no valid MSG-LEN is passed on for the parser to reject."""
    assert TcpDeframer().feed(b"12abc\n") == [b"12abc"]
    assert TcpDeframer().feed(b"123456789012345 x\n") == [b"123456789012345 x"]


def test_close_flushes_unterminated_line_and_flags_truncated_frame() -> None:
    """At end of stream a final line without LF is a message; a short octet frame is an error."""
    line_stream = TcpDeframer()
    line_stream.feed(MSG_A + b"\r")
    assert line_stream.close() == [MSG_A]
    octet_stream = TcpDeframer()
    octet_stream.feed(octet_count(MSG_A)[:-5])
    assert octet_stream.close() == [FrameError("truncated", len(MSG_A))]


def test_octet_count_encodes_utf8_length_in_bytes() -> None:
    """octet_count prefixes the UTF-8 byte length, not the character count."""
    assert octet_count("é") == b"2 \xc3\xa9"


def test_cap_must_be_positive() -> None:
    """A zero cap is a configuration error."""
    with pytest.raises(ValueError, match="positive"):
        TcpDeframer(max_message_size=0)
