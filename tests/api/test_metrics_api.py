"""`/metrics` on `DECNET_METRICS_PORT`: a real server scraped after real traffic shows every family.

Unauthenticated by design (interfaces/metrics.py): a scrape needs no token; the API's port has no
`/metrics`.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api.fleet_support import accepts, deckies, deploy, own_server
from tests.api.harness import (
    ApiClient,
    Backend,
    DecnetServer,
    free_port,
    fresh_source_ip,
    scratch_dir,
)
from tests.api.observations_support import send_tcp, send_udp, syslog_line, wait_for

FAMILIES = {
    "decnet_records_journaled_total": "counter",
    "decnet_records_dead_lettered_total": "counter",
    "decnet_records_accepted_total": "counter",
    "decnet_journal_backlog_bytes": "gauge",
    "decnet_journal_disk_full": "gauge",
    "decnet_records_udp_disk_full_total": "counter",
    "decnet_ingest_batch_records": "histogram",
    "decnet_ingest_append_seconds": "histogram",
    "decnet_projection_position": "gauge",
    "decnet_projection_lag_events": "gauge",
    "decnet_projection_lag_seconds": "gauge",
    "decnet_sse_clients": "gauge",
    "decnet_http_request_duration_seconds": "histogram",
    "decnet_login_failures_total": "counter",
    "decnet_logins_throttled_total": "counter",
    "decnet_emulator_sessions_total": "counter",
    "decnet_runtime_reconcile_errors_total": "counter",
}


@dataclass
class Scraped:
    server: DecnetServer
    api: ApiClient
    token: str
    metrics_port: int

    def scrape(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return str(response.read().decode())


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name{labels...}` (labels matched as a subset), else None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_:]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return None


@pytest.fixture(scope="module")
def scraped(backend: Backend) -> Iterator[Scraped]:
    port = free_port()
    with (
        scratch_dir("metrics") as data_dir,
        own_server(backend, data_dir, DECNET_METRICS_PORT=str(port)) as (server, token),
        server.client() as api,
    ):
        yield Scraped(server, api, token, port)


def test_a_scrape_after_traffic_shows_every_family(scraped: Scraped) -> None:
    """Given syslog over UDP and TCP, a bad line, logins and an emulator session, every family
    is in the exposition and the event-driven ones count what happened."""
    server, api = scraped.server, scraped.api
    send_udp(
        server.syslog_port, [syslog_line("metrics-01", "ssh", "login", {"src_ip": "192.0.2.9"})]
    )
    send_tcp(server.syslog_port, [syslog_line("metrics-01", "http", "request"), "not syslog"])
    source = fresh_source_ip()
    with server.client(source_ip=source) as guest:
        statuses = [guest.login("admin", f"wrong-{n}").status_code for n in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    response = deploy(api, scraped.token, "[general]\nnet = 127.93.7.0/24\n[mx]\nservices = ssh\n")
    assert response.status_code == 200, response.text
    mx = deckies(api, scraped.token)["mx"]
    assert accepts(mx["ip"], mx["ports"]["ssh"])

    def counted() -> str | None:
        text = scraped.scrape()
        done = (
            (sample(text, "decnet_records_journaled_total", transport="udp") or 0) >= 1
            and (sample(text, "decnet_records_journaled_total", transport="tcp") or 0) >= 1
            and (sample(text, "decnet_records_dead_lettered_total", transport="tcp") or 0) >= 1
            and (sample(text, "decnet_emulator_sessions_total", service="ssh") or 0) >= 1
            and (sample(text, "decnet_ingest_batch_records_count") or 0) >= 1
        )
        return text if done else None

    text = wait_for(counted, 20.0, "collector, batcher and emulator counts in /metrics", every=0.2)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    assert {name: types.get(name) for name in FAMILIES} == FAMILIES
    assert sample(text, "decnet_login_failures_total") == 10
    assert sample(text, "decnet_logins_throttled_total") == 1
    assert sample(text, "decnet_projection_position", model="logs") is not None
    assert sample(text, "decnet_sse_clients") == 0
    login = sample(
        text,
        "decnet_http_request_duration_seconds_count",
        route="/api/v1/auth/login",
        method="POST",
        status="401",
    )
    assert login == 10
    assert sample(text, "decnet_ingest_append_seconds_count") == sample(
        text, "decnet_ingest_batch_records_count"
    )


def test_only_get_metrics_is_served(scraped: Scraped) -> None:
    """Other paths are 404 on the metrics port, and the API port has no /metrics."""
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{scraped.metrics_port}/", timeout=5)
    assert err.value.code == 404
    assert scraped.api.get("/metrics", scraped.token).status_code == 404
