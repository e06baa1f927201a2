"""The image settings of the split topology are read: compose.yaml takes its images from
DECNET_APP_IMAGE, DECNET_POSTGRES_IMAGE and DECNET_REDIS_IMAGE (the names build.sh builds)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_takes_every_image_from_its_setting() -> None:
    env = {
        **os.environ,
        "DECNET_APP_IMAGE": "example/app:9",
        "DECNET_POSTGRES_IMAGE": "example/pg:17",
        "DECNET_REDIS_IMAGE": "example/redis:8",
        "POSTGRES_PASSWORD": "x",
        "DECNET_JWT_SECRET": "y" * 32,
        "DECNET_DOCKER_SYSLOG_TARGET": "127.0.0.1:5514",
    }
    rendered = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    images = sorted(
        line.split("image:", 1)[1].strip() for line in rendered.splitlines() if "image:" in line
    )
    assert set(images) == {"example/app:9", "example/pg:17", "example/redis:8"}, images
    assert images.count("example/pg:17") == images.count("example/redis:8") == 1
