"""Importing existing logs (RFC 5424 lines or JSON lines of records) straight into the store.

Each batch's journal span names the file's content hash and the line offsets, so importing the
same file twice stores it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from application.observations.ingest import IngestCommands
from domain.observations.batch import MAX_BATCH_RECORDS, JournalSpan, RejectedLine
from domain.observations.records import InteractionRecord
from domain.observations.timeparse import InvalidTimeError, parse_time_param
from infrastructure.collector.rfc5424 import SyslogParseError, attacker_ip_of, parse_line


class JsonRecord(msgspec.Struct):
    """A record as DECNET's log export writes it (`fields` may be an object or a JSON string)."""

    timestamp: str
    decky: str
    service: str
    event_type: str
    attacker_ip: str | None = None
    msg: str = ""
    fields: dict[str, str] | str = msgspec.field(default_factory=dict)
    raw_line: str = ""


@dataclass
class ImportSummary:
    """What an import did."""

    accepted: int = 0
    dead_lettered: int = 0
    batches_written: int = 0
    batches_already_present: int = 0


_json_decoder = msgspec.json.Decoder(JsonRecord)


def parse_json_record(line: bytes) -> InteractionRecord:
    """One JSON line to a record; raises ValueError with a reason."""
    try:
        item = _json_decoder.decode(line)
        fields = msgspec.json.decode(item.fields) if isinstance(item.fields, str) else item.fields
        fields = {str(k): str(v) for k, v in dict(fields).items()}
        timestamp = parse_time_param(item.timestamp)
    except (msgspec.DecodeError, msgspec.ValidationError, InvalidTimeError, TypeError) as e:
        raise ValueError(f"bad_json_record: {e}") from None
    if timestamp is None:
        raise ValueError("bad_json_record: no timestamp")
    ip = attacker_ip_of({"ip": item.attacker_ip} if item.attacker_ip else fields, item.msg)
    raw = item.raw_line or line.decode("utf-8", errors="replace")
    return InteractionRecord(
        timestamp, item.decky, item.service, item.event_type, ip, item.msg, fields, raw
    )


def parse_any(line: bytes) -> InteractionRecord:
    """A JSON object line or an RFC 5424 line."""
    if line.lstrip().startswith(b"{"):
        return parse_json_record(line)
    return parse_line(line)


def _batches(path: Path) -> Iterator[tuple[int, int, list[tuple[bytes, int]]]]:
    """(first offset, end offset, [(line, offset)]) of up to MAX_BATCH_RECORDS lines."""
    batch: list[tuple[bytes, int]] = []
    first = offset = 0
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                if not batch:
                    first = offset
                batch.append((line, offset))
            offset += len(raw)
            if len(batch) == MAX_BATCH_RECORDS:
                yield first, offset, batch
                batch = []
    if batch:
        yield first, offset, batch


def import_file(
    path: Path, ingest: IngestCommands, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Append the file's records in batches; returns counts."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    summary = ImportSummary()
    for first, end, lines in _batches(path):
        records: list[InteractionRecord] = []
        rejected: list[RejectedLine] = []
        for line, _ in lines:
            try:
                records.append(parse_any(line))
            except (SyslogParseError, ValueError) as e:
                rejected.append(_rejected(line, e))
        position = ingest.append(records, rejected, JournalSpan(f"import:{digest}", first, end))
        summary.accepted += len(records)
        summary.dead_lettered += len(rejected)
        if position is None:
            summary.batches_already_present += 1
        else:
            summary.batches_written += 1
        if progress:
            progress(end)
    return summary


def _rejected(line: bytes, error: Exception) -> RejectedLine:
    reason = getattr(error, "reason", None) or str(error).split(":", 1)[0]
    return RejectedLine(
        received_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        reason=reason,
        detail=str(error)[:500],
        raw=line[:8192].decode("utf-8", errors="replace"),
        source="import",
    )
