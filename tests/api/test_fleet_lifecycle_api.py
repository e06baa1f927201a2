"""Fleet behaviour that needs a server of its own: restart, slow and failing runtimes, the CLI."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.fleet_support import banner, deckies, deploy, own_server, refuses
from tests.api.harness import DECNET_BIN, Backend, scratch_dir


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


RESTART_INI = "[general]\nnet = 127.91.0.0/24\n[rho]\nservices = ssh, ftp\namount = 2\n"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A server data dir of the test's own that the embedded PostgreSQL user can reach.

    Not pytest's tmp_path: it sits under the user's 0700 basetemp, which a concurrent pytest run
    may also prune; PostgreSQL (its own user when run as root) then cannot reach or stop it.
    """
    with scratch_dir("lifecycle") as path:
        yield path


def test_restart_brings_the_fleet_back(backend: Backend, data_dir: Path) -> None:
    """After a restart every decky is running again and answering on its ports."""
    with own_server(backend, data_dir) as (server, token), server.client() as api:
        assert deploy(api, token, RESTART_INI).status_code == 200
        clash = deploy(api, token, "[general]\nnet = 127.92.0.0/24\n[other]\nservices = ssh\n")
        assert clash.status_code == 409
        assert "contradicts the fleet's network" in clash.json()["detail"]
        before = deckies(api, token)
        assert server.stop() == 0
        assert refuses("127.91.0.1", before["rho-01"]["ports"]["ssh"])
        server.start()
        token = api.token("admin", server.admin_password)
        after = deckies(api, token)
        assert set(after) == {"rho-01", "rho-02"}
        for name, decky in after.items():
            assert decky["status"] == "running", decky
            assert (decky["ip"], decky["services"]) == (before[name]["ip"], ["ssh", "ftp"])
            assert banner(decky["ip"], decky["ports"]["ssh"]).startswith(b"SSH-2.0-")


def test_deploy_still_starting_is_202(backend: Backend, data_dir: Path) -> None:
    """With no time to wait for the runtime, deploy answers 202 and the deckies come up later."""
    slow = own_server(backend, data_dir, DECNET_DEPLOY_WAIT_S="0")
    with slow as (server, token), server.client() as api:
        response = deploy(api, token, "[sigma]\nservices = ssh\nip = 127.93.0.1\n")
        assert response.status_code == 202, response.text
        assert response.json()["deckies"] == ["sigma"]
        assert "still starting" in response.json()["message"]
        deadline = time.monotonic() + 10
        while deckies(api, token)["sigma"]["status"] != "running":
            assert time.monotonic() < deadline, "sigma never came up"
            time.sleep(0.1)


def test_runtime_failure_is_500_and_kept(backend: Backend, data_dir: Path) -> None:
    """A runtime that cannot act makes deploy 500; the deckies stay, failed, with the reason."""
    env = {"DECNET_RUNTIME": "docker", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    with own_server(backend, data_dir, **env) as (server, token), server.client() as api:
        response = deploy(api, token, "[general]\nnet = 10.94.0.0/24\n[tau]\nservices = ssh\n")
        assert response.status_code == 500, response.text
        assert response.json()["detail"].startswith("Deployment failed: tau: ")
        tau = deckies(api, token)["tau"]
        assert (tau["ip"], tau["status"]) == ("10.94.0.1", "failed")
        assert tau["status_detail"] in response.json()["detail"]
        # Raw httpx: a 503 /health carries the health report, not the usual {"detail"} body.
        health = httpx.get(f"{server.base_url}/api/v1/health", headers=bearer(token))
        assert health.status_code == 503
        docker = health.json()["components"]["docker"]
        assert docker["status"] == "failing"
        assert docker["detail"].startswith("docker runtime:")


@pytest.fixture
def cli_env(backend: Backend, data_dir: Path) -> Iterator[dict[str, str]]:
    """A server and the environment a CLI user would set to talk to it."""
    with own_server(backend, data_dir) as (server, token):
        yield {**os.environ, "DECNET_CLI_URL": server.base_url, "DECNET_CLI_TOKEN": token}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `decnet ARGS` as an operator would."""
    return subprocess.run(
        [str(DECNET_BIN), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_drives_the_fleet(cli_env: dict[str, str], tmp_path: Path) -> None:
    """deploy, deckies, mutate and teardown work through the server's API; refusals exit 1."""
    ini = tmp_path / "fleet.ini"
    ini.write_text("[upsilon]\nservices = ssh\nip = 127.95.0.1\n")
    deployed = cli(cli_env, "deploy", str(ini))
    assert deployed.returncode == 0, deployed.stderr
    assert "upsilon" in deployed.stdout
    listed = cli(cli_env, "deckies")
    assert "127.95.0.1" in listed.stdout
    assert "running" in listed.stdout
    assert cli(cli_env, "mutate", "upsilon").stdout.startswith("Successfully mutated upsilon")
    assert cli(cli_env, "teardown", "upsilon").returncode == 0
    gone = cli(cli_env, "teardown", "upsilon")
    assert gone.returncode == 1
    assert "not found (404)" in gone.stderr
    again = cli(cli_env, "deploy", str(ini))
    assert again.returncode == 0, again.stderr
    kept = cli(cli_env, "deploy", str(ini))
    assert kept.returncode == 0, kept.stderr
    assert "unchanged: upsilon" in kept.stdout
    ini.write_text("[upsilon]\nservices = ssh\nip = 127.95.0.2\n")
    clash = cli(cli_env, "deploy", str(ini))
    assert clash.returncode == 1
    assert "'upsilon' already exists with ip 127.95.0.1" in clash.stderr


def test_catalogue_commands_need_no_server() -> None:
    """services, archetypes and distros print the built-in catalogue without any server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    for command, expected in (
        ("services", "docker_api"),
        ("archetypes", "devops-host"),
        ("distros", "windows-server-2022"),
    ):
        result = cli(env, command)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
