"""Query and path parameters validated with SPEC's codes: bad values are 422, never 500 or 400."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import Parameter

from application.reads.ports import LogFilter
from domain.observations.search import SearchQuery, parse_search
from domain.observations.timeparse import InvalidTimeError, parse_time_param
from domain.shared.errors import InvalidError, MalformedError

NOT_GIVEN = frozenset({"", "null", "undefined"})
INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: `int()` would also take " 5", "1_0", "٣"

# What the OpenAPI document says a query parameter takes: its real type, bounds, enum or format,
# or one of SPEC's spellings of "not given". The handler receives the raw text (the not-given
# spellings must not be a 400) and checks it against the same rules, 422 otherwise.
NOT_GIVEN_SCHEMA = Schema(
    type=OpenAPIType.STRING,
    enum=sorted(NOT_GIVEN),
    description="not given (the same as leaving the parameter out)",
)
# Only real calendar times (no month 13, no 31 June), so every value the pattern allows parses.
DECNET_TIME = (
    r"^[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
)


def query(description: str, *accepted: Schema) -> Any:
    """A `Parameter` whose schema is `accepted` or not given."""
    return Parameter(
        description=description,
        required=False,
        schema_extra={"one_of": None, "type": None, "any_of": [*accepted, NOT_GIVEN_SCHEMA]},
    )


def integer(low: int, high: int | None = None) -> Schema:
    """An integer query value within [low, high]."""
    return Schema(type=OpenAPIType.INTEGER, minimum=low, maximum=high)


def one_of(*values: str) -> Schema:
    """A query value from a fixed set."""
    return Schema(type=OpenAPIType.STRING, enum=list(values))


TEXT = Schema(type=OpenAPIType.STRING)
# A substring searched for in the bounty vault or in attackers' addresses is at most this long:
# the trigram index answers a pattern in time that grows with its length (at 1,000,000 logs a
# bounty search of 1,000 characters took 16 ms, of 10,000 3.9 s, of 60,000 23 s), and nothing a
# search there could find is longer (a user agent, a command line, a key's fingerprint).
MAX_SUBSTRING = 1000
SUBSTRING = Schema(type=OpenAPIType.STRING, max_length=MAX_SUBSTRING)
TIME = (
    Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
    Schema(type=OpenAPIType.STRING, pattern=DECNET_TIME, description="UTC, DECNET's spelling"),
)

SEARCH_DESCRIPTION = (
    "The log search language (docs/search.md): whitespace-separated terms, shell-style quotes,"
    " all ANDed. `decky:X`, `service:X`, `event_type:X` (alias `event:X`) and `attacker_ip:X`"
    " (alias `attacker:X`) match that column exactly; any other `key:X` matches the record's"
    " field `key` exactly; a bare word matches case-insensitively as a substring of msg,"
    " raw_line, decky, service, attacker_ip or the fields text. Example:"
    ' `service:ssh event_type:auth username:root "failed password"`. Empty, `null` and'
    " `undefined` mean no filter; NUL characters are dropped."
)
# The parameter stays a plain optional string: the language never rejects a search.
SearchParam = Annotated[str | None, query(SEARCH_DESCRIPTION, TEXT)]


MAX_OFFSET = 2**63 - 1  # PostgreSQL's bigint: beyond it an offset cannot even be asked

Limit = Annotated[str | None, query("Page size, 1..1000 (default 50)", integer(1, 1000))]
Offset = Annotated[str | None, query("Rows to skip (default 0)", integer(0, MAX_OFFSET))]
StartTime = Annotated[
    str | None, query("Only records at or after this time (ISO-8601, UTC if no zone)", *TIME)
]
EndTime = Annotated[
    str | None, query("Only records at or before this time (ISO-8601, UTC if no zone)", *TIME)
]
Text = Annotated[str | None, query("Exact value to filter on", TEXT)]


def substring(name: str, value: str | None) -> str | None:
    """A substring search (`given`), at most `MAX_SUBSTRING` characters (422 beyond)."""
    text = given(value)
    if text is not None and len(text) > MAX_SUBSTRING:
        raise InvalidError(f"{name} is {len(text):,} characters long; at most {MAX_SUBSTRING:,}")
    return text


def given(value: str | None) -> str | None:
    """None for the spellings SPEC treats as "not given" (exactly those: a blank like `%0C` is a
    value, which an integer or time parameter refuses as the document says); NUL dropped
    (nothing stored holds it)."""
    if value is None or value in NOT_GIVEN:
        return None
    return value.replace("\x00", "") if "\x00" in value else value


def int_param(name: str, value: str | None, default: int, low: int, high: int | None = None) -> int:
    """An integer within [low, high], else 422 naming the parameter."""
    raw = given(value)
    if raw is None:
        return default
    if INTEGER.fullmatch(raw) is None:
        raise InvalidError(f"{name} must be an integer (got {raw[:32]!r})")
    # Longer than any bound we use: out of range without asking int() (it caps digits at 4300).
    number = int(raw) if len(raw) <= 24 else (-1 if raw.startswith("-") else 1) * 10**24
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidError(f"{name} must be {bounds} (got {number})")
    return number


def time_param(name: str, value: str | None) -> datetime | None:
    """An ISO-8601 or `YYYY-MM-DD HH:MM:SS` time (a bound: clamped to years 1-9999 UTC),
    else 422."""
    try:
        return parse_time_param(value, clamp=True)
    except InvalidTimeError as e:
        raise InvalidError(f"{name}: {e}") from None


def uuid_param(what: str, value: str) -> UUID:
    """A uuid in the path, else 422 naming `what` (e.g. "attacker uuid")."""
    try:
        return UUID(value)
    except ValueError:
        raise InvalidError(f"{what} {value[:64]!r} is not a valid UUID") from None


def log_filter(search: str | None, start_time: str | None, end_time: str | None) -> LogFilter:
    """Search and time range of logs, histogram and stream; a reversed range matches nothing."""
    query: SearchQuery = parse_search(given(search))
    start = time_param("start_time", start_time)
    end = time_param("end_time", end_time)
    return LogFilter(query, start, end)


def page(limit: str | None, offset: str | None, max_limit: int = 1000) -> tuple[int, int]:
    """`limit` 1..max (default 50) and `offset` ≥ 0."""
    return int_param("limit", limit, 50, 1, max_limit), offset_param(offset)


def offset_param(offset: str | None) -> int:
    """`offset` ≥ 0 and within what the database can count."""
    return int_param("offset", offset, 0, 0, MAX_OFFSET)


def whole(name: str, value: int | float) -> int:
    """A JSON integer; `162.0` is one too (JSON Schema's `integer`), `1.5` is the wrong type."""
    if isinstance(value, float):
        if not value.is_integer():
            raise MalformedError(f"Invalid request body: {name} must be an integer (got {value!r})")
        return int(value)
    return value
