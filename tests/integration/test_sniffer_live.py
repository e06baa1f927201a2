"""The sniffer on `lo` against real TCP connections and real TLS handshakes (needs root)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from infrastructure.sniffer import SnifferWorker
from tests.fakes import MemorySink
from tests.unit.sniffer.reference import reference_ja3, reference_ja3_md5, reference_ja4

DECKY_IP = "127.83.0.10"
OTHER_IP = "127.83.0.11"  # not a decky: its traffic must not even reach the capture thread
SOURCE_A, SOURCE_B = "127.83.0.20", "127.83.0.21"
SNI = "decoy.example"


def _raw_socket_problem() -> str | None:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except AttributeError:
        return "AF_PACKET capture needs Linux"
    except PermissionError:
        return "no raw-socket rights (need root or CAP_NET_RAW)"
    return None


_PROBLEM = _raw_socket_problem()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or ""),
]


@contextlib.asynccontextmanager
async def running_worker(sink: MemorySink) -> AsyncIterator[SnifferWorker]:
    worker = SnifferWorker(
        sink, "lo", decky_ips=lambda: {DECKY_IP}, decky_name={DECKY_IP: "decky-live"}.get
    )
    await worker.start()
    try:
        assert worker.health().status == "ok", worker.health().detail
        # The kernel filter is installed by the capture thread right after it starts.
        await _until(lambda: "filter" in worker.health().detail)
        yield worker
    finally:
        started = time.monotonic()
        await worker.stop()
        assert time.monotonic() - started < 3, "stop() must not hang"


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@contextlib.contextmanager
def serving(handler: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listener on the decky IP; each accepted connection goes to `handler`, then closes."""
    listener = socket.create_server((DECKY_IP, 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = listener.accept()
                with conn:
                    handler(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def _connect(source: str, port: int, ip: str = DECKY_IP) -> socket.socket:
    return socket.create_connection((ip, port), timeout=2, source_address=(source, 0))


def _lo_mss() -> int:
    # An IPv4 packet is at most 65535 bytes, so lo's 64 KiB MTU yields an MSS of 65495.
    return min(int(Path("/sys/class/net/lo/mtu").read_text()), 65535) - 40


async def test_syn_fingerprints_are_captured_once_per_source() -> None:
    """Three connections from A and one from B give one SYN record each, with real values."""
    sink = MemorySink()
    async with running_worker(sink) as worker:
        before = worker.stats.frames
        with contextlib.suppress(OSError):
            await asyncio.to_thread(_connect, SOURCE_A, 9, OTHER_IP)
        await asyncio.sleep(0.3)
        if "kernel BPF" in worker.health().detail:
            assert worker.stats.frames == before, "non-decky traffic passed the kernel filter"

        def connect_all(port: int) -> None:
            for source in (SOURCE_A, SOURCE_A, SOURCE_A, SOURCE_B):
                _connect(source, port).close()

        with serving(lambda conn: None) as port:
            await asyncio.to_thread(connect_all, port)
            await _until(lambda: len(sink.matching(event_type="tcp_syn_fingerprint")) == 2)
            await asyncio.sleep(0.5)  # any late duplicate would show up by now
    syns = sink.matching(event_type="tcp_syn_fingerprint")
    assert sorted(r.attacker_ip or "" for r in syns) == [SOURCE_A, SOURCE_B]
    assert worker.stats.suppressed >= 2
    fields = syns[0].fields
    assert syns[0].decky == "decky-live"
    assert syns[0].service == "sniffer"
    assert (fields["dst_ip"], fields["dst_port"]) == (DECKY_IP, str(port))
    assert (fields["ttl"], fields["initial_ttl"], fields["hop_distance"]) == ("64", "64", "0")
    assert fields["mss"] == str(_lo_mss())
    assert fields["options"] == _expected_linux_options()
    assert fields["os_guess"] == "linux"
    assert fields["signature"] == f"64:{fields['window']}:{fields['mss']}:{fields['options']}"


def _expected_linux_options() -> str:
    """Linux's SYN option order for this host's sysctls (SACK, timestamps, window scaling)."""

    def on(name: str) -> bool:
        return Path(f"/proc/sys/net/ipv4/{name}").read_text().strip() != "0"

    sack, ts, ws = on("tcp_sack"), on("tcp_timestamps"), on("tcp_window_scaling")
    order = ["M"]
    order += (["S", "T"] if ts else ["N", "N", "S"]) if sack else (["N", "N", "T"] if ts else [])
    order += ["N", "W"] if ws else []
    return ",".join(order)


def _tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = _self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_alpn_protocols(["h2", "http/1.1"])
    return server, client


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography", reason="the TLS server needs `cryptography`")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SNI)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _peek_client_hello(conn: socket.socket) -> bytes:
    """The exact ClientHello record the client sent, read without consuming it."""
    conn.settimeout(2)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        data = conn.recv(65536, socket.MSG_PEEK)
        if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            return data[: 5 + int.from_bytes(data[3:5], "big")]
        time.sleep(0.01)
    raise AssertionError("no ClientHello")


async def test_tls_client_hello_fingerprints_match_the_bytes_sent(tmp_path: Path) -> None:
    """Real handshakes give tls_client_hello with JA3/JA4 of the exact hello, once per source."""
    server_ctx, client_ctx = _tls_contexts(tmp_path)
    hellos: list[bytes] = []

    def handshake(conn: socket.socket) -> None:
        hellos.append(_peek_client_hello(conn))
        with server_ctx.wrap_socket(conn, server_side=True):
            pass

    def clients(port: int) -> None:
        for source in (SOURCE_A, SOURCE_A, SOURCE_B):
            with client_ctx.wrap_socket(_connect(source, port), server_hostname=SNI) as tls:
                assert tls.version() == "TLSv1.3"

    sink = MemorySink()
    async with running_worker(sink) as worker:
        with serving(handshake) as port:
            await asyncio.to_thread(clients, port)
            await _until(lambda: len(sink.matching(event_type="tls_client_hello")) == 2)
            await asyncio.sleep(0.5)
    records = sink.matching(event_type="tls_client_hello")
    assert sorted(r.attacker_ip or "" for r in records) == [SOURCE_A, SOURCE_B]
    assert worker.stats.suppressed >= 1
    fields = records[0].fields
    assert fields["ja3"] == reference_ja3(hellos[0])
    assert fields["ja3_hash"] == reference_ja3_md5(hellos[0])
    assert fields["ja4"] == reference_ja4(hellos[0])
    assert (fields["sni"], fields["alpn"], fields["tls_version"]) == (SNI, "h2,http/1.1", "TLSv1.3")
    assert (fields["dst_ip"], fields["dst_port"]) == (DECKY_IP, str(port))
    assert records[0].decky == "decky-live"
