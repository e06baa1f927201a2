"""Fuzzing the query parameters of the read routes on a real server: never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.harness import ApiClient, Backend
from tests.api.observations_support import (
    ObservedServer,
    observed_server,
    scratch_dir,
    send_tcp,
    syslog_line,
    wait_for_logs,
)

FUZZ = settings(max_examples=25, deadline=None)
ALLOWED = {200, 400, 422}


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[ObservedServer, ApiClient]]:
    """An embedded-PostgreSQL server holding a few logs, bounties and attackers."""
    with scratch_dir("fuzz") as data_dir, observed_server(Backend("embedded"), data_dir) as server:
        base = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)
        lines = [
            syslog_line(
                f"decky-{i % 3}",
                ["ssh", "http", "ftp"][i % 3],
                ["auth", "request", "command"][i % 3],
                {"src_ip": f"10.9.0.{i % 4}", "username": "root", "password": f"p{i}",
                 "user_agent": "curl/8", "command": "ls", "note": 'q"]\\%_'},
                f"message {i} Wörd",
                base + timedelta(minutes=7 * i),
            )
            for i in range(12)
        ]  # fmt: skip
        send_tcp(server.syslog_port, lines)
        client = server.api()
        wait_for_logs(client, server.token, "", len(lines))
        yield server, client


_NOT_GIVEN = st.sampled_from(["null", "undefined", "", " "])
_SEARCH = st.one_of(
    st.none(),
    _NOT_GIVEN,
    st.text(max_size=40),
    st.lists(
        st.one_of(
            st.sampled_from(
                ["decky:", "service:", "event:", "event_type:", "attacker:", "attacker_ip:",
                 "username:", ":", '"', "'", "\\", "%", "_", " ", "::1", "10.9.0.1", "decky-1",
                 "WÖRD", "\x00"]
            ),
            st.text(max_size=6),
        ),
        max_size=8,
    ).map("".join),
)  # fmt: skip
_TIME = st.one_of(
    st.none(),
    _NOT_GIVEN,
    st.sampled_from(
        ["2026-04-18T02:00:00Z", "2026-04-18T04:00:00+02:00", "2026-04-18T02:00:00",
         "2026-04-18 02:00:00", "2026-04-18T02:00:00.123456789Z", "9999-12-31T23:59:59",
         "0001-01-01T00:00:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
         "yesterday", "2026-13-40", "1713400000", "2026-04-18T02:00:00 02:00"]
    ),
    st.datetimes(timezones=st.sampled_from([UTC, None])).map(datetime.isoformat),
    st.text(max_size=30),
)  # fmt: skip
_INT = st.one_of(
    st.none(),
    _NOT_GIVEN,
    st.integers(min_value=-5, max_value=2_000).map(str),
    st.integers(min_value=0, max_value=2**70).map(str),
    st.sampled_from(["1e3", " 7 ", "0x10", "-0", "+5", "٣", "1_0", "5.0", "abc"]),
    st.text(max_size=6),
)
_OFFSET = _INT
_SORT = st.one_of(
    st.none(),
    _NOT_GIVEN,
    st.sampled_from(["recent", "active", "traversals", "RECENT", "traversal"]),
    st.text(max_size=10),
)
_BOUNTY_TYPE = st.one_of(
    st.none(),
    _NOT_GIVEN,
    st.sampled_from(["credential", "fingerprint", "artifact", "Credential"]),
    st.text(max_size=10),
)


def check(client: ApiClient, token: str, path: str, params: dict[str, str | None]) -> None:
    """The route answers with an allowed status and, on 200, a well-formed body."""
    given_params = {k: v for k, v in params.items() if v is not None}
    response = client.get(path, token, params=given_params)
    assert response.status_code in ALLOWED, (path, given_params, response.text)
    if response.status_code != 200:
        return
    body = response.json()
    if path == "/logs/histogram":
        assert isinstance(body, list)
        buckets = [b["bucket"] for b in body]
        assert buckets == sorted(buckets)
        assert all(b["count"] > 0 for b in body)
    else:
        assert set(body) >= {"total", "limit", "offset", "data"}
        assert 1 <= body["limit"] <= 1000
        assert body["offset"] >= 0
        assert len(body["data"]) <= body["limit"]


@FUZZ
@given(
    search=_SEARCH,
    start=_TIME,
    end=_TIME,
    limit=_INT,
    offset=_OFFSET,
)
def test_logs_never_5xx(
    fuzzed: tuple[ObservedServer, ApiClient],
    search: str | None,
    start: str | None,
    end: str | None,
    limit: str | None,
    offset: str | None,
) -> None:
    """`/logs` answers 200, 400 or 422 to any search, time range, limit and offset."""
    server, client = fuzzed
    params = {
        "search": search,
        "start_time": start,
        "end_time": end,
        "limit": limit,
        "offset": offset,
    }
    check(client, server.token, "/logs", params)


@FUZZ
@given(search=_SEARCH, start=_TIME, end=_TIME, interval=_INT)
def test_histogram_never_5xx(
    fuzzed: tuple[ObservedServer, ApiClient],
    search: str | None,
    start: str | None,
    end: str | None,
    interval: str | None,
) -> None:
    """`/logs/histogram` answers 200, 400 or 422 to any search, range and interval."""
    server, client = fuzzed
    params = {
        "search": search,
        "start_time": start,
        "end_time": end,
        "interval_minutes": interval,
    }
    check(client, server.token, "/logs/histogram", params)


@FUZZ
@given(
    search=_SEARCH,
    service=_SEARCH,
    sort_by=_SORT,
    limit=_INT,
    offset=_OFFSET,
)
def test_attackers_never_5xx(
    fuzzed: tuple[ObservedServer, ApiClient],
    search: str | None,
    service: str | None,
    sort_by: str | None,
    limit: str | None,
    offset: str | None,
) -> None:
    """`/attackers` answers 200, 400 or 422 to any search, service, sort_by, limit and offset."""
    server, client = fuzzed
    params = {
        "search": search,
        "service": service,
        "sort_by": sort_by,
        "limit": limit,
        "offset": offset,
    }
    check(client, server.token, "/attackers", params)


@FUZZ
@given(
    search=_SEARCH,
    bounty_type=_BOUNTY_TYPE,
    limit=_INT,
    offset=_OFFSET,
)
def test_bounty_never_5xx(
    fuzzed: tuple[ObservedServer, ApiClient],
    search: str | None,
    bounty_type: str | None,
    limit: str | None,
    offset: str | None,
) -> None:
    """`/bounty` answers 200, 400 or 422 to any search, bounty_type, limit and offset."""
    server, client = fuzzed
    params = {"search": search, "bounty_type": bounty_type, "limit": limit, "offset": offset}
    check(client, server.token, "/bounty", params)
