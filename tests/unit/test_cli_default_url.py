"""The CLI's default server address follows the environment `decnet serve` would listen by."""

from __future__ import annotations

import pytest

from interfaces.cli.api_client import default_url

ENV = ("DECNET_CLI_URL", "DECNET_API_HOST", "DECNET_API_PORT")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"DECNET_API_PORT": "18099"}, "http://127.0.0.1:18099"),
        ({"DECNET_API_HOST": "10.0.0.5", "DECNET_API_PORT": "9000"}, "http://10.0.0.5:9000"),
        ({"DECNET_API_HOST": "0.0.0.0"}, "http://127.0.0.1:8000"),  # noqa: S104
        ({"DECNET_API_HOST": "::", "DECNET_API_PORT": "9000"}, "http://[::1]:9000"),
        ({"DECNET_API_HOST": "fd00::5"}, "http://[fd00::5]:8000"),
        ({"DECNET_API_HOST": "", "DECNET_API_PORT": ""}, "http://127.0.0.1:8000"),
        (
            {"DECNET_CLI_URL": "https://decnet.example:8443", "DECNET_API_PORT": "9000"},
            "https://decnet.example:8443",
        ),
    ],
)
def test_default_url(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    """`$DECNET_CLI_URL` wins; else the API host and port, wildcards reached on loopback."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_url() == expected
