"""PostgreSQL startup and SCRAM parsing: each bad input gets the real server's error.

Every (message, detail, line) here was read off Debian 12's PostgreSQL 15.20.
"""

from __future__ import annotations

import pytest

from infrastructure.emulators.postgres.builds import PG_15_20, build_for
from infrastructure.emulators.postgres.scram import parse_client_final, parse_client_first
from infrastructure.emulators.postgres.wire import PgError, error_response, parse_startup

PROTOCOL_3 = 3 << 16


def options(**pairs: str) -> bytes:
    """An option list as a StartupMessage carries it after the protocol number."""
    return b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs.items()) + b"\0"


def located(error: PgError) -> tuple[str, int, str]:
    """Where the 15.20 build raises `error`."""
    return PG_15_20.location(error.site)


def test_startup_options_are_parsed_and_database_defaults_to_user() -> None:
    """user/database/options come out as sent; a missing database is the user's name."""
    parsed = parse_startup(PROTOCOL_3, options(user="app", application_name="psql"))
    assert (parsed.user, parsed.database) == ("app", "app")
    assert parsed.options["application_name"] == "psql"


def test_names_are_cut_to_namedatalen() -> None:
    """The server keeps 63 bytes of a role name."""
    assert parse_startup(PROTOCOL_3, options(user="u" * 100)).user == "u" * 63


@pytest.mark.parametrize(
    ("payload", "message", "line"),
    [
        (b"user\0bob\0", "invalid startup packet layout: expected terminator as last byte", 2332),
        (options(database="x"), "no PostgreSQL user name specified in startup packet", 2349),
        (options(user=""), "no PostgreSQL user name specified in startup packet", 2349),
        (options(user="b", replication="maybe"), 'invalid value for parameter "replication"', 2284),
    ],
)
def test_bad_startup_packets(payload: bytes, message: str, line: int) -> None:
    """Layout, missing user and a bad `replication` fail where postmaster.c fails them."""
    with pytest.raises(PgError) as caught:
        parse_startup(PROTOCOL_3, payload)
    assert caught.value.message.startswith(message)
    assert located(caught.value) == ("postmaster.c", line, "ProcessStartupPacket")


@pytest.mark.parametrize("value", ["on", "of", "TRUE", "y", "0", "database"])
def test_replication_accepts_what_parse_bool_accepts(value: str) -> None:
    """parse_bool's spellings (prefixes included) and `database` pass."""
    assert parse_startup(PROTOCOL_3, options(user="b", replication=value)).user == "b"


@pytest.mark.parametrize(
    ("message", "detail", "line"),
    [
        (b"x,,n=,r=abc", "Unexpected channel-binding flag \"'x'\".", 1025),
        (b"n;,n=,r=abc", "Comma expected, but found character \"';'\".", 963),
        (b"y;,n=,r=abc", "Comma expected, but found character \"';'\".", 993),
        (b"n", 'Comma expected, but found character "0x00".', 963),
        (b"n,x=1,n=,r=abc", "Unexpected attribute \"'x'\" in client-first-message.", 1040),
        (b"n,,x=,r=abc", 'Expected attribute "n" but found "\'x\'".', 712),
        (b"n,,", 'Expected attribute "n" but found "0x00".', 712),
        (b"n,,nx", 'Expected character "=" for attribute "n".', 720),
        (b"n,,n=,r=abc,zz", 'Expected character "=" for attribute "z".', 848),
        (b"n,,n=,r=abc,1=x", "Attribute expected, but found invalid character \"'1'\".", 838),
        (b"", "The message is empty.", 366),
        (b"n,,n=,r=abc\0zz", "Message length does not match input length.", 371),
    ],
)
def test_malformed_client_first_messages(message: bytes, detail: str, line: int) -> None:
    """Each malformed client-first-message gets auth-scram.c's detail and line."""
    with pytest.raises(PgError) as caught:
        parse_client_first(message)
    assert (caught.value.message, caught.value.detail) == ("malformed SCRAM message", detail)
    assert located(caught.value)[:2] == ("auth-scram.c", line)


@pytest.mark.parametrize(
    ("message", "text", "line"),
    [
        (b"n,a=bob,n=,r=abc", "client uses authorization identity, but it is not supported", 1036),
        (b"n,,m=ext,n=,r=abc", "client requires an unsupported SCRAM extension", 1057),
        (b"n,,n=,r=ab\x01c", "non-printable characters in SCRAM nonce", 1071),
    ],
)
def test_unsupported_client_first_features(message: bytes, text: str, line: int) -> None:
    """authzid, mandatory extensions and odd nonces are refused with their own messages."""
    with pytest.raises(PgError) as caught:
        parse_client_first(message)
    assert (caught.value.message, located(caught.value)[1]) == (text, line)


def test_client_first_extensions_are_ignored() -> None:
    """Optional extensions after the nonce are read and ignored."""
    first = parse_client_first(b"n,,n=alice,r=abcdefgh,x=1")
    assert (first.cbind_flag, first.username, first.nonce) == ("n", "alice", "abcdefgh")
    assert first.bare == "n=alice,r=abcdefgh,x=1"


@pytest.mark.parametrize(
    ("message", "text", "line"),
    [
        (b"c=eSws,r=abc,p=AAAA", "unexpected SCRAM channel-binding attribute", 1335),
        (b"c=biws,r=abc,p=AAAA", "malformed SCRAM message", 1353),
        (b"c=biws,r=abc", "malformed SCRAM message", 825),
        (b"c=biws,r=abc,p=" + b"A" * 43 + b"=,x=1", "malformed SCRAM message", 1361),
    ],
)
def test_malformed_client_final_messages(message: bytes, text: str, line: int) -> None:
    """Wrong binding, short or missing proof and trailing garbage fail as on the server."""
    with pytest.raises(PgError) as caught:
        parse_client_final(message, "n")
    assert caught.value.message.startswith(text)
    assert located(caught.value)[1] == line


def test_client_final_keeps_the_message_without_proof() -> None:
    """The part of the AuthMessage the client signed is everything before `,p=`."""
    final = parse_client_final(b"c=biws,r=abcXYZ,p=" + b"A" * 43 + b"=", "n")
    assert (final.without_proof, final.nonce, len(final.proof)) == ("c=biws,r=abcXYZ", "abcXYZ", 32)


def test_error_response_carries_the_builds_location() -> None:
    """S, V, C, M, D, H, then F/L/R of the build: byte-for-byte what 15.20 sends."""
    error = PgError("no_user", "28000", "no PostgreSQL user name specified in startup packet")
    body = (
        b"SFATAL\0VFATAL\0C28000\0Mno PostgreSQL user name specified in startup packet\0"
        b"Fpostmaster.c\0L2349\0RProcessStartupPacket\0\0"
    )
    assert error_response(PG_15_20, error) == b"E" + (len(body) + 4).to_bytes(4, "big") + body


def test_builds_follow_the_distro() -> None:
    """Ubuntu 22.04 runs 14, Debian 12 runs 15; other distros get PGDG's 15."""
    assert build_for("ubuntu-22.04").version.startswith("14.5 (Ubuntu")
    assert build_for("debian-12").version.startswith("15.20 (Debian")
    assert build_for("rocky-9") is PG_15_20
