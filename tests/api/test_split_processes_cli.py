"""The split processes refuse to start, in one line, without what they share."""

from __future__ import annotations

import subprocess

import pytest

from tests.api.harness import JWT_SECRET, clean_env, run_decnet, scratch_dir


def run(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`decnet COMMAND` with only these DECNET_ variables set."""
    with scratch_dir("split") as data_dir:
        return run_decnet(
            command, env=clean_env(DECNET_DATA_DIR=str(data_dir), **env), cwd=data_dir
        )


@pytest.mark.parametrize("command", ["api", "projector", "collector", "fleet"])
def test_a_split_process_without_redis_refuses_in_one_line(command: str) -> None:
    """No DECNET_REDIS_URL: exit 2 and one line naming it; nothing was started."""
    done = run(command, DECNET_JWT_SECRET=JWT_SECRET)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"decnet: decnet {command} runs beside other processes and needs DECNET_REDIS_URL "
        "(or run everything in one process with `decnet serve`)"
    ]


def test_a_split_process_without_a_database_url_refuses() -> None:
    """No DECNET_DATABASE_URL: refused (an embedded database per process is one database each)."""
    done = run("projector", DECNET_REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert "needs DECNET_DATABASE_URL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_api_replicas_need_one_signing_secret() -> None:
    """`decnet api` without DECNET_JWT_SECRET refuses: replicas must accept each other's tokens."""
    done = run("api", DECNET_REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "decnet: decnet api replicas must sign tokens with one secret: set DECNET_JWT_SECRET"
    )
