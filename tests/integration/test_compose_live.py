"""`docker compose up` of the repository's compose.yaml, for real, on this machine's engine.

Run with `pytest -m docker_live tests/integration/test_compose_live.py`. The images come from
`infrastructure/runtime/images/build.sh --app --services` (run here first; cached: seconds when
current), so no registry is needed. It runs once with each compose implementation installed:
Docker's plugin (`docker compose`, Compose v2) and `docker-compose` (Debian's 1.29); each run
skips, with the reason, when its tool is not installed, and both when no Docker engine answers.

What it proves: compose.yaml as written starts the whole split topology — postgres, redis,
api-a/api-b, projector-a/projector-b, collector, fleet — every health check passes and no
service restarted; one projector leads and the other stands by; the bootstrap admin printed by
an API replica logs in through api-a; syslog lines sent over TCP and UDP to the collector's
published port are listed by `/logs` on both api-a and api-b (with the token api-a issued);
every process shares one checkpoint signing key, so both replicas verify the history the
projector signed; `down -v` then leaves no container, network or volume of the project behind.

The project has a unique name and free host ports, and its artifacts volume a unique name, so
it never meets a real deployment (or another run) on the same engine.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import DockerException, NotFound

from tests.api.harness import BOOTSTRAP_ADMIN, ApiClient, free_port
from tests.api.observations_support import send_tcp, send_udp, syslog_line

pytestmark = pytest.mark.docker_live

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "compose.yaml"
BUILD = REPO / "infrastructure" / "runtime" / "images" / "build.sh"
HEALTHY_S = 180.0  # `up -d` to every health check passing (API start_period is 30 s)
BOOTSTRAP_S = 60.0  # an API replica printed the generated admin password
LOGS_S = 60.0  # records sent to the collector, listed by both replicas
CHECKPOINT_S = 30.0  # the leading projector signs the first events within its 1 s poll
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
CHECKED = ("postgres", "redis", "api-a", "api-b", "collector")  # services with a health check
RUNNING = ("projector-a", "projector-b", "fleet")  # services without one: running is the bar
BOOTSTRAP = re.compile(r"Bootstrap admin created: user '([^']+)', password '([^']+)'")
ADMIN_PASSWORD = "compose-live-admin-pw-01"


def compose_command(tool: str) -> list[str]:
    """The command line of one compose implementation, or a skip saying it is not installed."""
    if tool == "plugin":
        docker_cli = shutil.which("docker")
        probe = subprocess.run(
            [docker_cli or "docker", "compose", "version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if docker_cli is None or probe.returncode != 0:
            pytest.skip("Docker's compose plugin is not installed (`docker compose` is unknown)")
        return [docker_cli, "compose"]
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    return [found]


@dataclass
class Stack:
    """One compose project of compose.yaml: its name, environment and published host ports."""

    tool: list[str]
    engine: docker.DockerClient
    project: str
    api_a_port: int
    api_b_port: int
    syslog_port: int

    def environment(self) -> dict[str, str]:
        """What compose interpolates (every command needs it: `:?` variables are checked)."""
        return {
            **os.environ,
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "DECNET_JWT_SECRET": secrets.token_urlsafe(48),
            # No decky is deployed: the fleet only needs a value to start.
            "DECNET_DOCKER_SYSLOG_TARGET": f"tcp://127.0.0.1:{self.syslog_port}",
            "DECNET_API_A_PORT": str(self.api_a_port),
            "DECNET_API_B_PORT": str(self.api_b_port),
            "DECNET_SYSLOG_PORT": str(self.syslog_port),
            "DECNET_ARTIFACTS_VOLUME": f"{self.project}-artifacts",
        }

    def compose(self, *args: str, env: dict[str, str], timeout: float) -> None:
        """Run one compose command on this project; fail with its output when it fails."""
        command = [*self.tool, "-f", str(COMPOSE_FILE), "-p", self.project, *args]
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"

    def containers(self) -> dict[str, Any]:
        """The project's containers by service name."""
        found = self.engine.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"}
        )
        return {c.labels[SERVICE_LABEL]: c for c in found}

    def log(self, service: str) -> str:
        """What one service's container printed so far (stdout and stderr)."""
        raw: bytes = self.containers()[service].logs()
        return raw.decode(errors="replace")

    def diagnosis(self) -> str:
        """Each container's state and last lines: the message of a failed wait."""
        parts = []
        for service, container in sorted(self.containers().items()):
            container.reload()
            state = container.attrs["State"]
            health = state.get("Health", {}).get("Status", "-")
            tail = container.logs(tail=8).decode(errors="replace")
            parts.append(f"--- {service}: {state['Status']} health={health}\n{tail}")
        return "\n".join(parts)

    def mounted_volumes(self) -> set[str]:
        """Every volume the project's containers mount, anonymous ones (images' VOLUME) too."""
        return {
            m["Name"]
            for c in self.containers().values()
            for m in c.attrs["Mounts"]
            if m["Type"] == "volume"
        }

    def leftovers(self, mounted: set[str]) -> list[str]:
        """Every container, network and volume of the project still on the engine."""
        label = {"label": f"{PROJECT_LABEL}={self.project}"}
        client = self.engine
        names = [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
        names += [f"network {n.name}" for n in client.networks.list(filters=label)]
        names += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
        # Named in compose.yaml (`name:`) or anonymous: looked up by name.
        for volume in {f"{self.project}-artifacts", *mounted}:
            with contextlib.suppress(NotFound):
                names.append(f"volume {client.volumes.get(volume).name}")
        return sorted(set(names))


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    """A client of the real engine, or a skip saying which engine did not answer."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except (DockerException, OSError) as exc:  # a dead socket is a requests OSError
        pytest.skip(f"no Docker engine answers at {where}: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def images(engine: docker.DockerClient) -> None:
    """Every image compose.yaml names, built by the project's script (a no-op when current)."""
    built = subprocess.run(
        [str(BUILD), "--app", "--services"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert built.returncode == 0, f"{BUILD} failed:\n{built.stderr[-3000:]}"


@pytest.fixture(scope="module", params=["plugin", "docker-compose"])
def stack(
    request: pytest.FixtureRequest, engine: docker.DockerClient, images: None
) -> Iterator[Stack]:
    """compose.yaml up with one compose tool, healthy; `down -v` after, and nothing left."""
    tool = compose_command(request.param)
    ports = {free_port() for _ in range(3)}
    assert len(ports) == 3, "free_port gave the same port twice"
    api_a, api_b, syslog = sorted(ports)
    s = Stack(tool, engine, f"compose-live-{secrets.token_hex(4)}", api_a, api_b, syslog)
    env = s.environment()
    try:
        s.compose("up", "-d", env=env, timeout=HEALTHY_S)
        wait_healthy(s)
        yield s
    finally:
        mounted = s.mounted_volumes()
        s.compose("down", "-v", "--remove-orphans", "-t", "20", env=env, timeout=180)
        left = s.leftovers(mounted)
        for name in left:  # best effort, so a failed run does not leak into the next
            kind, _, ident = name.partition(" ")
            subprocess.run(["docker", kind, "rm", "-f", ident], capture_output=True, check=False)
        assert not left, f"`down -v` left these behind: {left}"


def wait_healthy(s: Stack) -> None:
    """Every health-checked service healthy and every other one running, all eight present."""
    deadline = time.monotonic() + HEALTHY_S
    while True:
        containers = s.containers()
        for c in containers.values():
            c.reload()
        states = {n: c.attrs["State"] for n, c in containers.items()}
        ready = set(states) == {*CHECKED, *RUNNING} and all(
            states[n].get("Health", {}).get("Status") == "healthy" for n in CHECKED
        )
        if ready and all(states[n]["Status"] == "running" for n in RUNNING):
            return
        assert time.monotonic() < deadline, f"not healthy in {HEALTHY_S}s:\n{s.diagnosis()}"
        time.sleep(2)


def bootstrap_password(s: Stack) -> str:
    """The generated admin password, printed once by whichever API replica created the admin."""
    deadline = time.monotonic() + BOOTSTRAP_S
    while True:
        printed: list[tuple[str, str]] = [
            m for n in ("api-a", "api-b") for m in BOOTSTRAP.findall(s.log(n))
        ]
        if printed:
            assert len(printed) == 1, f"the admin was created more than once: {printed}"
            user, password = printed[0]
            assert user == BOOTSTRAP_ADMIN
            return password
        assert time.monotonic() < deadline, f"no bootstrap admin printed:\n{s.diagnosis()}"
        time.sleep(1)


def logs_total(port: int, token: str, decky: str) -> int:
    """How many logs of `decky` the replica on `port` lists."""
    with ApiClient(f"http://127.0.0.1:{port}") as api:
        response = api.get("/logs", token, params={"search": f"decky:{decky}", "limit": 1})
        assert response.status_code == 200, response.text
        return int(response.json()["total"])


def test_compose_up_runs_the_split_topology(stack: Stack) -> None:
    """Healthy stack; admin logs in on api-a; collector records listed on api-a and api-b."""
    # given the stack compose.yaml started (healthy), with nothing restarted
    restarts = {n: c.attrs["RestartCount"] for n, c in stack.containers().items()}
    restarted = sorted(n for n, count in restarts.items() if count)
    # A restarted container's log holds both runs: why the first one ended is in it.
    assert not restarted, f"{restarts}\n" + "\n".join(
        f"--- {n}:\n{stack.log(n)[-6000:]}" for n in restarted
    )
    # and one projector leading, the other standing by
    leading = [n for n in ("projector-a", "projector-b") if '"decnet_leading"' in stack.log(n)]
    standby = [n for n in ("projector-a", "projector-b") if "leadership_standby" in stack.log(n)]
    assert len(leading) == 1, stack.diagnosis()
    assert len(standby) == 1, stack.diagnosis()
    assert leading != standby

    # when the bootstrap admin logs in through api-a and replaces its password
    password = bootstrap_password(stack)
    with ApiClient(f"http://127.0.0.1:{stack.api_a_port}") as api:
        first = api.token(BOOTSTRAP_ADMIN, password)
        changed = api.change_password(first, password, ADMIN_PASSWORD)
        assert changed.status_code == 200, changed.text
        token = api.token(BOOTSTRAP_ADMIN, ADMIN_PASSWORD)

    # and syslog lines reach the collector's published port over TCP and UDP
    decky = f"compose-{secrets.token_hex(3)}"
    lines = [
        syslog_line(decky, "ssh", "command", {"command": f"echo {i}", "seq": str(i)})
        for i in range(40)
    ]
    send_tcp(stack.syslog_port, lines[:20])
    assert send_udp(stack.syslog_port, lines[20:]) == 20

    # then both replicas list all of them (api-b accepts api-a's token: one JWT secret)
    deadline = time.monotonic() + LOGS_S
    while (
        seen := {p: logs_total(p, token, decky) for p in (stack.api_a_port, stack.api_b_port)}
    ) != dict.fromkeys(seen, len(lines)):
        assert max(seen.values()) <= len(lines), f"more logs than records sent: {seen}"
        assert time.monotonic() < deadline, f"{seen} of {len(lines)} after {LOGS_S}s"
        time.sleep(0.5)
    with ApiClient(f"http://127.0.0.1:{stack.api_b_port}") as api:
        health = api.get("/health", token)
        assert health.status_code == 200, health.text  # no critical component failing

    # and every process holds the one signing key: what the leading projector signed, each
    # API replica verifies (a key per service's data volume verified nothing)
    assert_one_signing_key(stack, token)


def assert_one_signing_key(stack: Stack, token: str) -> None:
    """Both replicas publish the same key, report it as the history's, and verify the history
    with at least one checkpoint the projector signed."""
    ports = (stack.api_a_port, stack.api_b_port)
    deadline = time.monotonic() + CHECKPOINT_S
    for port in ports:
        with ApiClient(f"http://127.0.0.1:{port}") as api:
            while api.get("/audit/checkpoints", token).json()["total"] == 0:
                assert time.monotonic() < deadline, f"no checkpoint signed in {CHECKPOINT_S}s"
                time.sleep(1)
            key = api.get("/audit/public-key", token).json()["fingerprint"]
            signing = api.get("/health", token).json()["components"]["signing_key"]
            assert signing == {"status": "ok", "detail": f"{key} signs the history's checkpoints"}
            verified = api.get("/audit/verify", token).json()
            assert verified["ok"] is True, verified
            assert verified["checkpoints_checked"] >= 1, verified
    refused = [n for n in stack.containers() if "checkpoint_refused" in stack.log(n)]
    assert not refused, {n: stack.log(n)[-3000:] for n in refused}
