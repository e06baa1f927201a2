"""What the history API may show of a stored event: secrets redacted, attacker evidence kept.

Password hashes and token ids never leave the store; decoy service settings that look like
secrets (a decky's ssh password) are redacted as `/deckies` does for non-admins. What attackers
sent — captured credentials, commands — is evidence and is shown as recorded.
"""

from __future__ import annotations

from typing import Any

from domain.fleet.secrets import REDACTED, is_secret_key

SECRET_FIELDS = frozenset({"password_hash", "jti"})
# Stored beside the data but said elsewhere (position, recorded_at, actor) or internal (topics).
HIDDEN_FIELDS = frozenset({"meta", "timestamp", "originator_topic", "class_version"})


def event_data(state: dict[str, Any]) -> dict[str, Any]:
    """What the history shows of a stored state: redacted, without the envelope's fields."""
    return redact({k: v for k, v in state.items() if k not in HIDDEN_FIELDS})


def redact(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event's state with every secret replaced by `[redacted]` (and no NUL)."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        key = without_nul(key)
        if key in SECRET_FIELDS:
            out[key] = REDACTED
        elif key == "service_config" and isinstance(value, dict):
            out[key] = {svc: _redact_settings(cfg) for svc, cfg in without_nul(value).items()}
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = without_nul(value)
    return out


def without_nul(value: Any) -> Any:
    """`value` with NUL removed from every string in it (stored JSON cannot hold NUL)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


def _redact_settings(settings: Any) -> Any:
    if not isinstance(settings, dict):
        return settings
    return {k: REDACTED if is_secret_key(k) else v for k, v in settings.items()}
