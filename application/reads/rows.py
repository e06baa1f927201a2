"""Named rows of the read models, in the shapes SPEC §3 gives them (one struct per shape)."""

from __future__ import annotations

from typing import Any

import msgspec


class LogRow(msgspec.Struct, frozen=True):
    """One log row; `fields` is the record's fields as a JSON object encoded in a string."""

    id: int
    timestamp: str
    decky: str
    service: str
    event_type: str
    attacker_ip: str | None
    msg: str
    fields: str
    raw_line: str


class DeadLetter(msgspec.Struct, frozen=True):
    """A line the collector could not parse, kept with why (SPEC §5's dead-letter store)."""

    id: int
    received_at: str
    reason: str
    detail: str
    raw: str
    source: str


class HistogramBucket(msgspec.Struct, frozen=True):
    """Records counted in one bucket starting at `bucket`."""

    bucket: str
    count: int


class BountyRow(msgspec.Struct, frozen=True):
    """One harvested credential, fingerprint or artifact."""

    id: int
    timestamp: str
    decky: str
    service: str
    attacker_ip: str | None
    bounty_type: str
    payload: dict[str, Any]


class AttackerCommand(msgspec.Struct, frozen=True):
    """One command an attacker ran."""

    service: str
    decky: str
    command: str
    timestamp: str


class Attacker(msgspec.Struct, frozen=True):
    """An attacker profile with its behaviour block, newest commands and fingerprints.

    `commands` and `fingerprints` are the newest few (newest first; SPEC §3 gives the caps);
    the whole command list is `/attackers/{uuid}/commands`, every bounty is in `/bounty`.
    """

    uuid: str
    ip: str
    first_seen: str
    last_seen: str
    updated_at: str
    event_count: int
    service_count: int
    decky_count: int
    services: list[str]
    deckies: list[str]
    traversal_path: str | None
    is_traversal: bool
    bounty_count: int
    credential_count: int
    command_count: int
    behavior: dict[str, Any]
    commands: list[AttackerCommand] = msgspec.field(default_factory=list)
    fingerprints: list[BountyRow] = msgspec.field(default_factory=list)


class Decky(msgspec.Struct, frozen=True):
    """One decky of the fleet as `/deckies` shows it."""

    name: str
    ip: str
    mac: str
    hostname: str
    distro: str
    archetype: str | None
    nmap_os: str
    services: list[str]
    ports: dict[str, int]
    service_config: dict[str, dict[str, str]]
    status: str
    status_detail: str
    mutate_interval: int | None  # the decky's own interval in minutes, as DECNET reports it
    effective_mutate_interval: str
    last_mutated: str | None
    next_mutation_at: str | None
    deployed_at: str | None


class Stats(msgspec.Struct, frozen=True):
    """SPEC's `/stats`: every figure from a read model."""

    total_logs: int
    unique_attackers: int
    active_deckies: int
    deployed_deckies: int


class UserSummary(msgspec.Struct, frozen=True):
    """A user as admins see it (never the hash)."""

    uuid: str
    username: str
    role: str
    must_change_password: bool


class ConfigValues(msgspec.Struct, frozen=True):
    """The settings read model: deployment limit and global mutation interval in minutes."""

    deployment_limit: int
    global_mutation_interval_minutes: int


class PurgeResult(msgspec.Struct, frozen=True):
    """What a reinit removed from the read models."""

    logs: int
    bounties: int


class RebuildProgress(msgspec.Struct, frozen=True):
    """A zero-downtime rebuild under way: where the new model is, and when it may be done."""

    position: int
    head: int
    started_at: str
    eta_seconds: float | None


class ProjectionStatus(msgspec.Struct, frozen=True):
    """How one read model is doing."""

    name: str
    version: int
    state: str  # live | catching_up | rebuilding | failed
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    events_per_second: float
    last_error: str | None
    rebuild: RebuildProgress | None


class ViewInfo(msgspec.Struct, frozen=True):
    """An as-of view of the read models."""

    label: str
    until_position: int
    until_time: str | None
    state: str  # building | ready | failed
    progress: float
    created_by: str | None
    created_at: str
    rows: int
    created_by_username: str | None = None  # the creator's name now; null once deleted


class Actor(msgspec.Struct, frozen=True):
    """Who did something: a user's uuid and the username they had."""

    uuid: str
    username: str | None


class HistoryEvent(msgspec.Struct, frozen=True):
    """One stored event as the history API shows it (secrets redacted)."""

    position: int
    recorded_at: str
    type: str
    aggregate_id: str
    aggregate_version: int
    actor: Actor | None
    client_ip: str | None
    request_id: str | None
    summary: str
    data: dict[str, Any]


class HistoryPage(msgspec.Struct, frozen=True):
    """A page of the event history, in position order."""

    head: int
    next_after: int
    data: list[HistoryEvent]


class AuditRow(msgspec.Struct, frozen=True):
    """One administrative act or authentication outcome."""

    position: int
    at: str
    actor: Actor | None
    client_ip: str | None
    request_id: str | None
    action: str
    target: str | None
    outcome: str
    detail: str
