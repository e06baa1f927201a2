"""Observations become interaction records, as a decky container's sniffer would emit them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from domain.observations.addresses import canonical_ip
from domain.observations.records import InteractionRecord
from infrastructure.runtime.recording import rfc5424_line
from infrastructure.sniffer.analyzer import Observation

log = structlog.get_logger()

# Any name would do for the profile: it skips sniffer event types (SNIFFER_EVENT_TYPES) when
# counting services touched. "sniffer" matches DECNET and makes `service:sniffer` searchable.
SERVICE = "sniffer"

DeckyNamer = Callable[[str], str | None]


def build_record(observation: Observation, decky_name: DeckyNamer | None) -> InteractionRecord:
    """The record for one observation; the decky is its name when known, else its IP."""
    record = InteractionRecord(
        timestamp=datetime.fromtimestamp(observation.observed_at, UTC),
        decky=_name_of(observation.dst_ip, decky_name),
        service=SERVICE,
        event_type=observation.event_type,
        attacker_ip=canonical_ip(observation.src_ip) or observation.src_ip,
        msg=observation.msg,
        fields=dict(observation.fields),
    )
    return replace(record, raw_line=rfc5424_line(record))


def _name_of(ip: str, decky_name: DeckyNamer | None) -> str:
    if decky_name is None:
        return ip
    try:
        return decky_name(ip) or ip
    except Exception:  # a resolver hiccup still leaves a usable record
        log.exception("sniffer_decky_name_failed", ip=ip)
        return ip
