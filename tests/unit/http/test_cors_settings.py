"""`DECNET_CORS_ORIGINS`: a comma list of origins, none by default, junk refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, load_settings

BASE = {"DECNET_DEVELOPER": "true"}


def test_no_origins_by_default(tmp_path: Path) -> None:
    """Unset, no origin is allowed."""
    assert load_settings(dict(BASE), dotenv=tmp_path / ".env").cors_origin_list == []


def test_a_comma_list_is_trimmed_and_kept_in_order(tmp_path: Path) -> None:
    """Spaces and empty items are dropped; `*` and ports are fine."""
    env = {**BASE, "DECNET_CORS_ORIGINS": " https://a.example , http://b.example:5173,, *"}
    settings = load_settings(env, dotenv=tmp_path / ".env")
    assert settings.cors_origin_list == ["https://a.example", "http://b.example:5173", "*"]


@pytest.mark.parametrize("origin", ["a.example", "https://a.example/app", "ftp://a.example"])
def test_something_that_is_not_an_origin_stops_the_start(tmp_path: Path, origin: str) -> None:
    """A path, a missing scheme or another scheme is a configuration error naming the value."""
    with pytest.raises(ConfigError, match="DECNET_CORS_ORIGINS"):
        load_settings({**BASE, "DECNET_CORS_ORIGINS": origin}, dotenv=tmp_path / ".env")
