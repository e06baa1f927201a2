"""Docker-runtime behaviours beyond the shared contract, on the in-memory engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from docker.errors import DockerException

from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import (
    DockerNetworkOptions,
    DockerRuntimeOptions,
    decky_filter,
)
from tests.contract.conftest import make_spec
from tests.contract.fake_docker import FakeContainer, FakeDockerClient

pytestmark = pytest.mark.anyio

NETWORK = DockerNetworkOptions(
    name="decnet_lan", driver="ipvlan", subnet="10.78.0.0/24", gateway="10.78.0.1", parent="eth9"
)
OPTIONS = DockerRuntimeOptions(
    network=NETWORK,
    service_images={"ftp": "acme/ftp:1"},
    syslog_target="udp://10.78.0.2:514",
)
SPEC = make_spec("files-01", "10.78.0.20", ("ssh", "ftp"), {"ssh": {"password": "admin"}})


@pytest.fixture
def engine() -> FakeDockerClient:
    """A fresh in-memory engine."""
    return FakeDockerClient()


@pytest.fixture
async def runtime(engine: FakeDockerClient) -> AsyncIterator[DockerRuntime]:
    """A Docker runtime on the fake engine."""
    docker_runtime = DockerRuntime(OPTIONS, client=engine)
    yield docker_runtime
    await docker_runtime.close()


def containers(engine: FakeDockerClient, decky: str = "files-01") -> dict[str, FakeContainer]:
    """The decky's containers keyed by service name ("base" for the base)."""
    found = engine.containers.list(all=True, filters=decky_filter(decky))
    return {c.labels.get("decnet.service", "base"): c for c in found}


async def test_network_is_created_from_the_options(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """A missing LAN is created with the configured driver, parent NIC and subnet."""
    await runtime.apply(SPEC)
    network = engine.networks.get("decnet_lan")
    assert network.attrs["Driver"] == "ipvlan"
    assert network.attrs["Options"] == {"parent": "eth9"}
    assert network.attrs["IPAM"]["Config"][0]["Subnet"] == "10.78.0.0/24"


async def test_missing_network_without_subnet_fails_the_decky(engine: FakeDockerClient) -> None:
    """Without a subnet to create the LAN from, apply fails and says why."""
    docker_runtime = DockerRuntime(DockerRuntimeOptions(), client=engine)
    report = await docker_runtime.apply(SPEC)
    assert report.status == "failed"
    assert "no subnet is configured" in report.detail


async def test_containers_carry_identity_labels_and_shared_network(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """The base holds IP, MAC and hostname; services join its namespace with their config."""
    await runtime.apply(SPEC)
    found = containers(engine)
    base, ssh, ftp = found["base"], found["ssh"], found["ftp"]
    endpoint = base.attrs["NetworkSettings"]["Networks"]["decnet_lan"]
    assert (endpoint["IPAddress"], endpoint["MacAddress"]) == (SPEC.ip, SPEC.mac)
    assert base.attrs["Config"]["Hostname"] == SPEC.hostname
    assert ssh.labels["decnet.managed"] == "true"
    assert ssh.labels["decnet.decky"] == "files-01"
    assert ssh.attrs["HostConfig"]["NetworkMode"] == f"container:{base.id}"
    assert ssh.attrs["Config"]["Image"] == "decnet-es/emulator:latest"
    assert ssh.attrs["Config"]["Cmd"] == ["decnet", "emulate", "ssh"]
    assert 'DECNET_SERVICE_CONFIG={"password": "admin"}' in ssh.attrs["Config"]["Env"]
    assert "DECNET_SYSLOG_TARGET=udp://10.78.0.2:514" in ssh.attrs["Config"]["Env"]
    assert ftp.attrs["Config"]["Image"] == "acme/ftp:1"


async def test_service_that_fails_to_start_reports_the_engine_reason(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """A service the engine cannot start fails the decky with the engine's words."""
    engine.start_failures["acme/ftp:1"] = "exec: decnet: executable file not found in $PATH"
    report = await runtime.apply(SPEC)
    assert report.status == "failed"
    assert "ftp: exec: decnet: executable file not found" in report.detail
    assert containers(engine)["ssh"].status == "running"
    assert (await runtime.report(SPEC.name)).status == "failed"


async def test_missing_image_fails_the_decky(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """An image the engine cannot pull is reported, not raised."""
    engine.missing_images.add("acme/ftp:1")
    report = await runtime.apply(SPEC)
    assert report.status == "failed"
    assert "ftp: pull access denied" in report.detail


async def test_crashed_service_is_reported_then_replaced_by_apply(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """A service that exited shows as failed; the next apply replaces it."""
    await runtime.apply(SPEC)
    crashed = containers(engine)["ftp"]
    crashed.set_state("exited", exit_code=1)
    report = await runtime.report(SPEC.name)
    assert (report.status, report.detail) == ("failed", "ftp: exited with code 1")
    again = await runtime.apply(SPEC)
    assert again.status == "running"
    assert containers(engine)["ftp"].id != crashed.id


async def test_address_change_rebuilds_the_decky(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """A new IP means a new base, and services follow it into the new namespace."""
    await runtime.apply(SPEC)
    old = {name: c.id for name, c in containers(engine).items()}
    report = await runtime.apply(replace(SPEC, ip="10.78.0.21"))
    new = {name: c.id for name, c in containers(engine).items()}
    assert report.status == "running"
    assert set(new) == set(old)
    assert not set(new.values()) & set(old.values())


async def test_remove_leaves_unlabelled_containers_alone(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """Only containers labelled for the decky are removed."""
    bystander = engine.containers.run("nginx", name="someone-elses", detach=True)
    await runtime.apply(SPEC)
    await runtime.remove(SPEC.name)
    assert containers(engine) == {}
    assert engine.containers.get("someone-elses").id == bystander.id


async def test_close_leaves_containers_running_for_the_next_process(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """close() keeps deckies alive, and a new runtime adopts them without recreating."""
    await runtime.apply(SPEC)
    before = {name: c.id for name, c in containers(engine).items()}
    await runtime.close()
    assert engine.closed
    assert all(c.status == "running" for c in containers(engine).values())
    successor = DockerRuntime(OPTIONS, client=engine)
    assert (await successor.apply(SPEC)).status == "running"
    assert {name: c.id for name, c in containers(engine).items()} == before


async def test_health_fails_with_reason_when_the_engine_is_down(
    runtime: DockerRuntime, engine: FakeDockerClient
) -> None:
    """A dead engine makes health failing and apply a failed report, never an exception."""
    engine.engine_down = "Connection aborted"
    health = await runtime.health()
    assert health.status == "failing"
    assert "no Docker engine answers at" in health.detail
    assert "Connection aborted" in health.detail
    assert (await runtime.apply(SPEC)).status == "failed"
    assert (await runtime.report(SPEC.name)).status == "failed"


async def test_runtime_without_reachable_engine_is_constructible() -> None:
    """When even building the client fails, the runtime still answers health and apply."""

    def no_engine() -> FakeDockerClient:
        raise DockerException("Error while fetching server API version: FileNotFoundError")

    docker_runtime = DockerRuntime(OPTIONS, client_factory=no_engine)
    assert (await docker_runtime.health()).status == "failing"
    report = await docker_runtime.apply(SPEC)
    assert report.status == "failed"
    assert "FileNotFoundError" in report.detail
