"""Every source of records writes an attacker address the one way the collector does: a
dual-stack listener's IPv4 peer (`::ffff:1.2.3.4`) is that IPv4 attacker."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import msgspec

from domain.audit.canonical import BATCH_TOPIC
from domain.audit.evidence import EventRow
from domain.observations.records import InteractionRecord
from infrastructure.runtime.recording import Recorder
from infrastructure.sniffer.analyzer import Observation
from infrastructure.sniffer.records import build_record
from interfaces.evidence_export import _attacker_records


class Kept:
    """A record sink that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[InteractionRecord] = []

    async def submit(self, record: InteractionRecord) -> None:
        self.records.append(record)


def emitted(attacker_ip: str | None) -> InteractionRecord:
    sink = Kept()
    recorder = Recorder(sink, "decky-01", "ssh")
    asyncio.run(recorder.emit("connect", attacker_ip, "", {"src_ip": attacker_ip or ""}))
    return sink.records[0]


def test_an_emulator_peer_mapped_into_ipv6_is_recorded_as_ipv4() -> None:
    record = emitted("::ffff:192.0.2.7")
    assert record.attacker_ip == "192.0.2.7"
    assert record.fields["src_ip"] == "::ffff:192.0.2.7"  # the evidence keeps what it saw


def test_other_emulator_peers_are_kept_or_spelled_canonically() -> None:
    assert emitted("192.0.2.7").attacker_ip == "192.0.2.7"
    assert emitted("2001:DB8::1").attacker_ip == "2001:db8::1"
    assert emitted("not an address").attacker_ip == "not an address"
    assert emitted(None).attacker_ip is None


def test_a_sniffed_source_mapped_into_ipv6_is_recorded_as_ipv4() -> None:
    seen = Observation("tcp_syn_fingerprint", "::ffff:c000:207", "10.0.0.5", 0.0, {}, "", ())
    assert build_record(seen, None).attacker_ip == "192.0.2.7"


def test_evidence_takes_records_stored_in_the_mapped_spelling() -> None:
    """A record stored before stop 33 as `::ffff:a00:1` is 10.0.0.1's evidence, as stored."""
    state = msgspec.json.encode(
        {
            "records": [
                {"attacker_ip": "::ffff:a00:1", "msg": "old"},
                {"attacker_ip": "10.0.0.1", "msg": "new"},
                {"attacker_ip": "10.0.0.2", "msg": "other"},
                {"attacker_ip": None, "msg": "none"},
            ],
            "rejected": [],
        }
    )
    row = EventRow(7, uuid4(), 1, BATCH_TOPIC, state)
    kept = _attacker_records(row, "10.0.0.1")
    assert [r["msg"] for r in kept] == ["old", "new"]
    assert kept[0]["attacker_ip"] == "::ffff:a00:1"
