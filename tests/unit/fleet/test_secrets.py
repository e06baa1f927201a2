"""Which per-service settings are secrets, and how a viewer's copy hides them."""

from __future__ import annotations

import pytest

from domain.fleet.secrets import REDACTED, is_secret_key, redact_service_config


@pytest.mark.parametrize(
    "key",
    ["password", "users", "Password", "passwd", "pass", "db_pass", "pwd", "api_secret",
     "client_secret", "token", "auth_token", "key", "tls_key", "SSH_KEY", "credential",
     "credentials"],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    """SPEC's credential keys and anything named like a secret are secret."""
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["banner", "version", "hostname", "server_header", "response_code", "body", "tls_cn"]
)
def test_known_harmless_keys_are_not_secret(key: str) -> None:
    """The documented non-credential keys stay visible."""
    assert not is_secret_key(key)


def test_redaction_keeps_the_shape_and_copies() -> None:
    """Every service and key stays; only secret values become `[redacted]`; input untouched."""
    config = {
        "ssh": {"password": "hunter2", "users": "bob:builder", "banner": "SSH-2.0-x"},
        "https": {"tls_key": "-----BEGIN", "tls_cn": "intranet"},
        "http": {},
    }
    redacted = redact_service_config(config)
    assert redacted == {
        "ssh": {"password": REDACTED, "users": REDACTED, "banner": "SSH-2.0-x"},
        "https": {"tls_key": REDACTED, "tls_cn": "intranet"},
        "http": {},
    }
    assert config["ssh"]["password"] == "hunter2"
