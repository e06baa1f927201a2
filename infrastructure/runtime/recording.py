"""Turning what happens on a local listener into interaction records for the sink."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from application.ports import RecordSink
from domain.observations.addresses import canonical_ip
from domain.observations.records import InteractionRecord

log = structlog.get_logger()

EXCERPT_BYTES = 256  # enough to recognise a probe; a payload's bulk is counted, not stored
_ESCAPES = {0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
_SD_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "]": "\\]"})


def escape_excerpt(data: bytes, limit: int = EXCERPT_BYTES) -> str:
    """Printable ASCII as is, everything else escaped, at most `limit` input bytes."""
    parts = []
    for byte in data[:limit]:
        if byte in _ESCAPES:
            parts.append(_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    suffix = "..." if len(data) > limit else ""
    return "".join(parts) + suffix


def rfc5424_line(record: InteractionRecord) -> str:
    """The RFC 5424 line a decky container would emit for this record (SPEC §5)."""
    stamp = record.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    params = " ".join(f'{k}="{v.translate(_SD_ESCAPES)}"' for k, v in record.fields.items())
    structured = f"[relay@55555 {params}]" if params else "-"
    # PRI 134 = facility local0, severity informational.
    head = f"<134>1 {stamp} {record.decky} {record.service} - {record.event_type} {structured}"
    return f"{head} {record.msg}" if record.msg else head


class Recorder:
    """Emits records for one service of one decky; never raises into the connection."""

    def __init__(self, sink: RecordSink, decky: str, service: str) -> None:
        self._sink = sink
        self.decky = decky
        self.service = service

    async def emit(
        self, event_type: str, attacker_ip: str | None, msg: str, fields: Mapping[str, str]
    ) -> None:
        """Build the record and hand it to the sink; a failing sink is logged, not raised."""
        record = InteractionRecord(
            timestamp=datetime.now(UTC),
            decky=self.decky,
            service=self.service,
            event_type=event_type,
            # A dual-stack listener reports an IPv4 peer as `::ffff:1.2.3.4`: the collector's
            # spelling (`canonical_ip`) keeps that attacker one attacker.
            attacker_ip=(canonical_ip(attacker_ip) or attacker_ip) if attacker_ip else None,
            msg=msg,
            fields=dict(fields),
        )
        record = replace(record, raw_line=rfc5424_line(record))
        try:
            await self._sink.submit(record)
        except Exception:
            # Losing one record must not take the listener down; the log keeps the evidence.
            log.exception(
                "runtime_record_submit_failed",
                decky=self.decky,
                service=self.service,
                event_type=event_type,
            )
