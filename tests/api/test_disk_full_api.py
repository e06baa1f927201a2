"""A full disk under the collector's journal: the intake stops acknowledging instead of dying or
losing what it took, says so on /health and /metrics, and resumes by itself when space returns.

The journal directory is a small tmpfs mounted for the test (root only; skipped otherwise).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.collector_support import fill, small_disk, stored_once
from tests.api.harness import Backend, free_port
from tests.api.observations_support import (
    SYSLOG_HOST,
    ObservedServer,
    observed_server,
    scratch_dir,
    send_tcp,
    send_udp,
    syslog_line,
    tag,
    wait_for,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def numbered(t: str, count: int) -> list[bytes]:
    return [
        syslog_line("dfull", "ssh", "connect", {"run": t, "seq": str(i)}, msg="m" * 200).encode()
        for i in range(count)
    ]


class Sender(threading.Thread):
    """Sends lines over one connection, half-closes, and waits for the server's FIN."""

    def __init__(self, port: int, lines: list[bytes]) -> None:
        super().__init__(daemon=True)
        self._port, self._lines = port, lines
        self.outcome = ""

    def run(self) -> None:
        try:
            with socket.create_connection((SYSLOG_HOST, self._port), timeout=60) as sock:
                sock.sendall(b"".join(line + b"\n" for line in self._lines))
                sock.shutdown(socket.SHUT_WR)
                self.outcome = "fin" if sock.recv(1) == b"" else "data"
        except OSError as e:
            self.outcome = f"error: {e}"


def collector(server: ObservedServer) -> dict[str, str]:
    with server.api() as api:
        health = api.get("/health", server.token)
        assert health.status_code in (200, 503), health.text
        component: dict[str, str] = health.json()["components"]["collector_worker"]
        return component


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


@pytest.fixture
def journal_disk(backend: Backend) -> Iterator[tuple[ObservedServer, Path, int]]:
    """A server whose journal directory is a 2 MiB tmpfs, with a metrics port."""
    if backend.name != "embedded":
        pytest.skip("one backend is enough: the journal is the same on both")
    metrics_port = free_port()
    with (
        scratch_dir("disk-full") as data_dir,
        small_disk(data_dir / "journal", "2m") as journal,
        observed_server(
            backend, data_dir, extra_env={"DECNET_METRICS_PORT": str(metrics_port)}
        ) as server,
    ):
        yield server, journal, metrics_port


def test_full_journal_disk_holds_senders_and_resumes_when_space_returns(
    journal_disk: tuple[ObservedServer, Path, int],
) -> None:
    """Disk full: TCP senders wait (no FIN), UDP drops are counted, health says why; freeing space
    stores every held line once, without a restart."""
    server, journal, metrics_port = journal_disk
    filler = fill(journal)
    t = tag()
    sender = Sender(server.syslog_port, numbered(t, 2000))
    sender.start()
    send_udp(server.syslog_port, numbered(tag(), 20))

    def full() -> dict[str, str] | None:
        component = collector(server)
        return component if "disk full" in component["detail"] else None

    component = wait_for(full, 15, "the collector reporting a full disk", every=0.2)
    assert component["status"] == "failing", component
    assert "No space left on device" in component["detail"], component
    metrics = scrape(metrics_port)
    assert re.search(r"^decnet_journal_disk_full 1\.0$", metrics, re.M), metrics
    dropped = re.search(r"^decnet_records_udp_disk_full_total (\S+)$", metrics, re.M)
    assert dropped, metrics
    assert float(dropped.group(1)) > 0, metrics
    sender.join(timeout=2)
    assert sender.is_alive(), f"the sender was answered on a full disk: {sender.outcome}"
    assert server.server.process is not None
    assert server.server.process.poll() is None, "the server died on a full disk"

    filler.unlink()
    sender.join(timeout=30)
    assert sender.outcome == "fin", sender.outcome
    stored_once(server, t, 2000)
    wait_for(
        lambda: True if collector(server)["status"] == "ok" else None, 15, "the collector ok again"
    )
    assert re.search(r"^decnet_journal_disk_full 0\.0$", scrape(metrics_port), re.M)


def test_journal_larger_than_its_disk_frees_what_the_store_holds(
    journal_disk: tuple[ObservedServer, Path, int],
) -> None:
    """More lines than the journal's disk holds, with the store up: segments the store already
    holds are given back, so every line is stored once and the server stays up."""
    server, _, _ = journal_disk
    t = tag()
    senders = [Sender(server.syslog_port, numbered(t, 9000)[i::3]) for i in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
        assert sender.outcome == "fin", sender.outcome
    stored_once(server, t, 9000)
    assert collector(server)["status"] == "ok"


def test_evidence_export_on_a_full_temporary_disk_is_507(backend: Backend) -> None:
    """The evidence bundle is built in a temporary file: with that disk full the export answers
    507 with a detail, not 500, and works again once space returns."""
    if backend.name != "embedded":
        pytest.skip("one backend is enough: the temporary directory is the same on both")
    dropped = os.urandom(3 * 1024 * 1024)  # incompressible: the bundle outgrows the 2 MiB disk
    digest = hashlib.sha256(dropped).hexdigest()
    stored_as = f"2026-04-18T02:00:00Z_{digest[:12]}_dropper.bin"
    ip = "10.93.0.7"
    with scratch_dir("disk-full-export") as scratch, small_disk(scratch / "tmp", "2m") as tmp:
        (scratch / "artifacts" / "fx-decky" / "ssh").mkdir(parents=True)
        (scratch / "artifacts" / "fx-decky" / "ssh" / stored_as).write_bytes(dropped)
        env = {"DECNET_ARTIFACTS_ROOT": str(scratch / "artifacts"), "TMPDIR": str(tmp)}
        with (
            observed_server(backend, scratch / "data", extra_env=env) as server,
            server.api() as api,
        ):
            fields = {"src_ip": ip, "sha256": digest, "stored_as": stored_as, "size": "3145728"}
            send_tcp(server.syslog_port, [syslog_line("fx-decky", "ssh", "file_captured", fields)])

            def attacker() -> str | None:
                rows = api.get("/attackers", server.token, params={"search": ip}).json()["data"]
                return str(rows[0]["uuid"]) if rows else None

            uuid = wait_for(attacker, 30, "the attacker's profile", every=0.3)
            response = api.get(f"/attackers/{uuid}/evidence", server.token)
            assert response.status_code == 507, response.text
            assert "No space left on device" in response.json()["detail"], response.text
            assert os.statvfs(tmp).f_bfree == os.statvfs(tmp).f_blocks, "temporary file left"
            subprocess.run(["mount", "-o", "remount,size=16m", str(tmp)], check=True)
            response = api.get(f"/attackers/{uuid}/evidence", server.token)
            assert response.status_code == 200, response.text
