"""Recon → exfil phase sequence (SPEC §6)."""

from __future__ import annotations

import json

import pytest

from domain.attackers.phases import PhaseState, is_exfil, is_recon
from tests.unit.attackers.builders import record


def fed(*records: tuple[float, str, dict[str, str]]) -> PhaseState:
    """A PhaseState fed (seconds, event_type, fields) records in order."""
    state = PhaseState()
    for seconds, event_type, fields in records:
        state.observe(record(seconds, event_type=event_type, fields=fields))
    return state


@pytest.mark.parametrize(
    "event_type",
    ["connect", "connection", "disconnect", "auth", "auth_fail", "login_attempt", "request",
     "port_scan", "tcp_syn_fingerprint", "tls_client_hello"],
)  # fmt: skip
def test_recon_types(event_type: str) -> None:
    """Connection lifecycle, auth, requests, scans and sniffer fingerprints are recon."""
    assert is_recon(event_type)
    assert not is_exfil(event_type)


@pytest.mark.parametrize(
    "event_type",
    ["command", "exec", "shell_input", "query", "redis_command", "file_captured", "download",
     "sftp_upload"],
)  # fmt: skip
def test_exfil_types(event_type: str) -> None:
    """Commands, captured files, uploads and downloads start the exfil phase."""
    assert is_exfil(event_type)


def test_recon_ends_at_last_recon_before_first_command() -> None:
    """recon_end is the last recon record before the first command; latency is the gap."""
    state = fed(
        (0, "connect", {}),
        (5, "auth_attempt", {}),
        (8, "auth_success", {}),
        (20, "command", {"command": "id"}),
        (30, "connect", {}),
        (40, "file_captured", {}),
    )
    snap = state.snapshot()
    assert snap["recon_end_ts"] == "2026-04-18T02:00:08Z"
    assert snap["exfil_start_ts"] == "2026-04-18T02:00:20Z"
    assert snap["exfil_latency_s"] == 12.0


def test_without_exfil_recon_end_is_latest_recon() -> None:
    """Before any command recon_end tracks the latest recon, and there is no latency."""
    snap = fed((0, "connect", {}), (9, "request", {}), (3, "disconnect", {})).snapshot()
    assert snap["recon_end_ts"] == "2026-04-18T02:00:09Z"
    assert snap["exfil_start_ts"] is None
    assert snap["exfil_latency_s"] is None


def test_skewed_latency_is_clamped_to_zero() -> None:
    """A command stamped slightly before the recon record that preceded it gives latency 0."""
    state = fed((10.5, "connect", {}), (10.2, "command", {}))
    assert state.exfil_latency_s == 0.0


def test_large_payloads_counted_from_size_or_bytes() -> None:
    """Records with size/bytes ≥ 1 MiB count once each; smaller or unparsable do not."""
    state = fed(
        (0, "file_captured", {"size": "1048576"}),
        (1, "download", {"bytes": "1048575"}),
        (2, "upload", {"bytes": "5000000", "size": "5000000"}),
        (3, "connect", {"size": "lots"}),
    )
    assert state.large_payload_count == 2


def test_state_round_trips_through_json() -> None:
    """to_dict → JSON → from_dict gives an equal state."""
    state = fed((0, "connect", {}), (4, "exec", {"size": "2000000"}))
    assert PhaseState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
