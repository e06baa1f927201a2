"""Killing or stopping `decnet serve` mid-ingest loses and duplicates nothing it accepted."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.api.harness import ApiClient, Backend
from tests.api.observations_support import (
    SYSLOG_HOST,
    ObservedServer,
    all_logs,
    collector_counts,
    fields_of,
    get_json,
    ip_block,
    live_postgres,
    observed_server,
    scratch_dir,
    send_tcp,
    send_udp,
    stop_orphaned_postgres,
    syslog_line,
    tag,
    wait_for,
)

CHUNK = 500


@pytest.fixture(scope="module")
def durable(backend: Backend) -> Iterator[ObservedServer]:
    """One server whose data dir outlives the kills and restarts of this module."""
    with scratch_dir("durability") as data_dir, observed_server(backend, data_dir) as server:
        yield server


def numbered(t: str, ip: str, count: int, via: str) -> list[str]:
    """`count` lines tagged `run:<t>`, each with a unique `seq`."""
    return [
        syslog_line(f"du{t}", "ssh", "connect", {"src_ip": ip, "run": t, "seq": f"{via}{i}"})
        for i in range(count)
    ]


def settled_rows(client: ApiClient, token: str, t: str, at_least: int) -> list[dict[str, Any]]:
    """The tagged rows once there are at least `at_least` and the count held still for 1 s."""
    seen: list[int] = []

    def probe() -> bool | None:
        seen.append(get_json(client, token, "/logs", search=f"run:{t}", limit=1)["total"])
        steady = len(seen) >= 4 and len(set(seen[-4:])) == 1
        return True if seen[-1] >= at_least and steady else None

    wait_for(probe, 60, f"{at_least} rows of run:{t} settled", every=0.3)

    def complete_read() -> list[dict[str, Any]] | None:
        # A projection pause longer than the steady window lets rows arrive while we page; new
        # rows shift the offset pages and repeat rows across them. Read until one pass shows as
        # many distinct rows as the total says (a stored duplicate is a distinct row, so kept).
        rows = {r["id"]: r for r in all_logs(client, token, f"run:{t}")}
        total = get_json(client, token, "/logs", search=f"run:{t}", limit=1)["total"]
        return list(rows.values()) if len(rows) == total else None

    return wait_for(complete_read, 60, f"one consistent read of run:{t}", every=0.5)


def seq_counts(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(fields_of(r)["seq"] for r in rows)


def assert_consistent(server: ObservedServer, client: ApiClient, ip: str, stored: int) -> None:
    """After the restart the server is healthy and the attacker profile counted each row once."""
    health = client.get("/health", server.token).json()
    assert health["components"]["ingestion_worker"]["status"] == "ok", health
    assert health["components"]["collector_worker"]["status"] == "ok", health

    def profiled() -> dict[str, Any] | None:
        page = get_json(client, server.token, "/attackers", search=ip)
        found = [a for a in page["data"] if a["ip"] == ip]
        return found[0] if found and found[0]["event_count"] >= stored else None

    attacker = wait_for(profiled, 30, f"attacker {ip} with {stored} events")
    assert attacker["event_count"] == stored


class Streamer(threading.Thread):
    """Streams numbered lines over one TCP connection until done or the server goes away."""

    def __init__(self, port: int, lines: list[str]) -> None:
        super().__init__(daemon=True)
        self._port, self._lines = port, lines
        self.sent_lines = 0

    def run(self) -> None:
        try:
            with socket.create_connection((SYSLOG_HOST, self._port), timeout=10) as sock:
                for start in range(0, len(self._lines), CHUNK):
                    chunk = self._lines[start : start + CHUNK]
                    sock.sendall(b"".join(text.encode() + b"\n" for text in chunk))
                    self.sent_lines = start + len(chunk)
        except OSError:
            pass  # the server was killed under us: expected


def accepted_since(client: ApiClient, token: str, before: int) -> int:
    return collector_counts(client, token)["accepted"] - before


def interrupt_mid_stream(
    server: ObservedServer, interrupt: Callable[[], None], total: int, at: int
) -> tuple[str, str, int]:
    """Stream `total` lines and call `interrupt` once the collector accepted ≥ `at`.

    Returns the tag, the attacker IP and the accepted count last seen before the interrupt:
    every line up to it is journaled, so it must survive.
    """
    t, ip = tag(), ip_block() + "1"
    with server.api() as client:
        before = collector_counts(client, server.token)["accepted"]
        streamer = Streamer(server.syslog_port, numbered(t, ip, total, "t"))
        streamer.start()
        accepted = wait_for(
            lambda: n if (n := accepted_since(client, server.token, before)) >= at else None,
            30,
            f"{at} lines accepted",
            every=0.005,
        )
    interrupt()
    streamer.join(timeout=30)
    assert accepted < total, "the stream finished before the interrupt; raise `total`"
    return t, ip, accepted


def assert_prefix_survived(
    server: ObservedServer, t: str, ip: str, accepted: int, total: int
) -> None:
    """Stored lines are exactly seq 0..K-1 once each, with K ≥ the accepted count."""
    with server.api() as client:
        rows = settled_rows(client, server.token, t, accepted)
        counts = seq_counts(rows)
        assert max(counts.values()) == 1, counts.most_common(3)
        stored = sorted(int(seq.removeprefix("t")) for seq in counts)
        assert stored == list(range(len(stored)))
        assert accepted <= len(stored) <= total
        assert_consistent(server, client, ip, len(stored))


def test_sigkill_after_accepting_loses_and_duplicates_nothing(durable: ObservedServer) -> None:
    """Lines accepted over TCP and UDP survive a SIGKILL before the store caught up, once each."""
    t, ip = tag(), ip_block() + "1"
    tcp_lines, udp_lines = numbered(t, ip, 10_000, "t"), numbered(t, ip, 300, "u")
    with durable.api() as client:
        before = collector_counts(client, durable.token)["accepted"]

        def trickle_udp() -> None:
            for start in range(0, len(udp_lines), 10):
                send_udp(durable.syslog_port, udp_lines[start : start + 10])
                time.sleep(0.005)

        udp = threading.Thread(target=trickle_udp, daemon=True)
        udp.start()
        send_tcp(durable.syslog_port, tcp_lines)
        udp.join(timeout=30)
        seen: list[int] = []

        def all_accepted() -> int | None:
            # UDP may drop in the kernel, so wait for the TCP lines and a still counter.
            seen.append(accepted_since(client, durable.token, before))
            still = len(seen) >= 3 and len(set(seen[-3:])) == 1
            return seen[-1] if seen[-1] >= len(tcp_lines) and still else None

        accepted = wait_for(all_accepted, 10, "the TCP lines accepted", every=0.005)
        stored_at_kill = get_json(client, durable.token, "/logs", search=f"run:{t}", limit=1)
    durable.kill()
    assert stored_at_kill["total"] < accepted, "the store caught up before the kill: send more"
    durable.restart()
    with durable.api() as client:
        rows = settled_rows(client, durable.token, t, accepted)
        counts = seq_counts(rows)
        assert max(counts.values()) == 1, counts.most_common(3)
        tcp = {seq for seq in counts if seq.startswith("t")}
        assert tcp == {f"t{i}" for i in range(len(tcp_lines))}
        assert len(counts) - len(tcp) == accepted - len(tcp_lines)  # every accepted datagram
        assert_consistent(durable, client, ip, len(rows))


def test_sigkill_mid_stream_keeps_every_accepted_line_once(durable: ObservedServer) -> None:
    """SIGKILL while a TCP sender is streaming: every accepted line is stored once after restart."""
    t, ip, accepted = interrupt_mid_stream(durable, durable.kill, total=60_000, at=4_000)
    durable.restart()
    assert_prefix_survived(durable, t, ip, accepted, 60_000)


def test_sigterm_mid_stream_keeps_every_accepted_line_once(durable: ObservedServer) -> None:
    """SIGTERM while a TCP sender is streaming: clean exit, then every accepted line once."""
    codes: list[int | None] = []
    t, ip, accepted = interrupt_mid_stream(
        durable, lambda: codes.append(durable.server.stop()), total=60_000, at=4_000
    )
    assert codes == [0], durable.server.log_tail()
    durable.restart()
    assert_prefix_survived(durable, t, ip, accepted, 60_000)


def test_clean_stop_after_a_crash_leaves_no_postgres(backend: Backend) -> None:
    """After SIGKILL and a restart on the same data dir, SIGTERM stops the embedded PostgreSQL."""
    if backend.admin_url is not None:
        pytest.skip("only the embedded PostgreSQL belongs to the data dir")
    with scratch_dir("orphan") as data_dir, observed_server(backend, data_dir) as server:
        server.kill()
        server.restart()
        assert server.server.stop() == 0
        left = live_postgres(data_dir)
        stop_orphaned_postgres(data_dir)
    assert left == [], f"the restarted server left PostgreSQL running: pids {left}"
