"""Which decky settings are secrets: the one rule every view of `service_config` follows."""

from __future__ import annotations

from collections.abc import Mapping

REDACTED = "[redacted]"
# Keys that hold credentials by SPEC §4, whatever their spelling suggests.
SECRET_KEYS = frozenset({"password", "users"})
# Any key whose name contains one of these (case-insensitive) is treated as a secret: hiding a
# harmless value from viewers costs little, showing a password to them is the defect.
SECRET_PARTS = ("pass", "pwd", "secret", "token", "key", "credential")


def is_secret_key(key: str) -> bool:
    """True when a per-service setting may hold a credential and is shown to admins only."""
    lowered = key.lower()
    return lowered in SECRET_KEYS or any(part in lowered for part in SECRET_PARTS)


def redact_service_config(
    config: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, str]]:
    """A copy with each secret value replaced by `[redacted]`; keys stay, so the shape holds."""
    return {
        service: {key: REDACTED if is_secret_key(key) else value for key, value in values.items()}
        for service, values in config.items()
    }
