"""The per-attacker behaviour aggregate (SPEC §3 `behavior`)."""

from __future__ import annotations

import json

from domain.attackers.profile import AttackerBehavior
from domain.observations.records import InteractionRecord
from tests.unit.attackers.builders import record

SYN = "tcp_syn_fingerprint"


def fed(*records: InteractionRecord) -> AttackerBehavior:
    """An AttackerBehavior fed `records` in order."""
    behavior = AttackerBehavior()
    for rec in records:
        behavior.observe(rec)
    return behavior


def test_behavior_has_exactly_the_spec_shape() -> None:
    """behavior() returns SPEC's keys, with timing_stats and phase_sequence nested."""
    out = fed(record(0), record(1)).behavior()
    assert set(out) == {
        "os_guess", "hop_distance", "tcp_fingerprint", "behavior_class", "beacon_interval_s",
        "beacon_jitter_pct", "tool_guesses", "timing_stats", "phase_sequence",
    }  # fmt: skip
    assert set(out["timing_stats"]) == {
        "event_count", "duration_s", "mean_iat_s", "median_iat_s", "stdev_iat_s",
        "min_iat_s", "max_iat_s", "cv",
    }  # fmt: skip
    assert set(out["phase_sequence"]) == {
        "recon_end_ts", "exfil_start_ts", "exfil_latency_s", "large_payload_count",
    }  # fmt: skip
    assert out["behavior_class"] == "unknown"


def test_tools_from_user_agent_headers_and_ssh_banner() -> None:
    """User-Agent fields, headers and SSH client banners all feed tool guesses, in order."""
    out = fed(
        record(0, service="http", event_type="request", fields={"user_agent": "curl/8.0"}),
        record(1, service="http", fields={"headers": '{"user-agent": "Nmap Scripting Engine"}'}),
        record(2, service="ssh", fields={"client_version": "SSH-2.0-paramiko_3.4"}),
        record(3, service="http", fields={"user_agent": "curl/8.1"}),
    ).behavior()
    assert out["tool_guesses"] == ["nmap", "curl", "paramiko"]


def test_command_text_does_not_feed_tool_guesses() -> None:
    """Mentioning a tool in a shell command is not using it."""
    rec = record(0, event_type="command", fields={"command": "apt install nmap"})
    assert fed(rec).behavior()["tool_guesses"] == []


def test_os_is_modal_sniffer_guess_with_ttl_fallback() -> None:
    """The modal os_guess wins; 'unknown' or missing guesses fall back to the TTL."""
    syns = [
        {"os_guess": "unknown", "ttl": "120", "window": "64240"},
        {"ttl": "110"},
        {"os_guess": "Linux", "ttl": "50", "hop_distance": "14"},
    ]
    behavior = fed(
        *(record(i, service="sniffer", event_type=SYN, fields=f) for i, f in enumerate(syns))
    )
    out = behavior.behavior()
    assert out["os_guess"] == "windows"
    assert out["hop_distance"] == 14
    assert out["tcp_fingerprint"] == "128:64240:?:?"


def test_hop_distance_computed_from_latest_ttl() -> None:
    """Without a hop_distance field the hops come from the latest TTL."""
    behavior = fed(
        record(0, service="sniffer", event_type=SYN, fields={"ttl": "60"}),
        record(1, service="sniffer", event_type=SYN, fields={"ttl": "117"}),
    )
    assert behavior.hop_distance == 11


def test_sniffer_records_are_not_services() -> None:
    """Passive sniffer observations count as events but not as touched services."""
    behavior = fed(
        *(
            record(i * 0.5, service="sniffer", event_type=SYN, fields={"ttl": "64"})
            for i in range(4)
        ),
        *(record(2 + i * 0.5, service="ssh", event_type="auth_attempt") for i in range(4)),
    )
    out = behavior.behavior()
    assert behavior.services == {"ssh"}
    assert out["timing_stats"]["event_count"] == 8
    assert out["behavior_class"] == "brute_force"


def test_multi_service_fast_sweep_is_scanning() -> None:
    """Three services within seconds classify as scanning."""
    services = ["ssh", "http", "ftp", "smb"]
    out = fed(*(record(i * 0.2, service=s) for i, s in enumerate(services))).behavior()
    assert out["behavior_class"] == "scanning"


def test_beaconing_exposes_interval_and_jitter() -> None:
    """A regular one-service cadence is beaconing with its interval and jitter."""
    out = fed(*(record(i * 60.0, service="http") for i in range(6))).behavior()
    assert (out["behavior_class"], out["beacon_interval_s"], out["beacon_jitter_pct"]) == (
        "beaconing",
        60.0,
        0.0,
    )


def test_phase_timestamps_are_iso_utc_with_z() -> None:
    """Phase timestamps print as ISO-8601 UTC with a Z suffix."""
    out = fed(record(0), record(1.5, event_type="command", fields={"cmd": "id"})).behavior()
    assert out["phase_sequence"]["recon_end_ts"] == "2026-04-18T02:00:00Z"
    assert out["phase_sequence"]["exfil_start_ts"] == "2026-04-18T02:00:01.500000Z"


def test_state_round_trip_preserves_behavior() -> None:
    """to_state → JSON → from_state gives an equal aggregate and the same behavior."""
    behavior = fed(
        record(0, service="http", fields={"user_agent": "sqlmap/1.8", "size": "2000000"}),
        record(3, service="sniffer", event_type=SYN, fields={"ttl": "57", "mss": "1460"}),
        record(7, service="ssh", event_type="exec", fields={"cmd": "id"}),
    )
    restored = AttackerBehavior.from_state(json.loads(json.dumps(behavior.to_state())))
    assert restored == behavior
    assert restored.behavior() == behavior.behavior()
