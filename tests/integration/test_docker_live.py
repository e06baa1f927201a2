"""The runtime contract against a real Docker engine; skipped with the reason when none answers.

Knobs (environment): DECNET_TEST_DOCKER_SUBNET (default 172.31.77.0/24), DECNET_TEST_DOCKER_DRIVER
(macvlan), DECNET_TEST_DOCKER_PARENT (none: Docker then uses an internal dummy link),
DECNET_TEST_DOCKER_IMAGE (busybox:stable, used for the base and, running `sleep`, every service).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import AsyncIterator, Iterator

import docker
import pytest
from docker.errors import DockerException, NotFound

from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions, DockerRuntimeOptions
from tests.contract.test_runtime_contract import DockerProbe, RuntimeContract

NETWORK = "decnet_contract"
SUBNET = ipaddress.ip_network(os.environ.get("DECNET_TEST_DOCKER_SUBNET", "172.31.77.0/24"))
IMAGE = os.environ.get("DECNET_TEST_DOCKER_IMAGE", "busybox:stable")


@pytest.fixture
def anyio_backend() -> str:
    """The runtime is asyncio code."""
    return "asyncio"


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    """A client of the real engine, or a skip saying which engine did not answer."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except (DockerException, OSError) as exc:  # a dead socket is a requests OSError
        pytest.skip(f"no Docker engine answers at {where}: {exc}")
    yield client
    with contextlib.suppress(NotFound):  # absent when every test failed before creating it
        client.networks.get(NETWORK).remove()
    client.close()


def live_options() -> DockerRuntimeOptions:
    """Busybox stands in for the emulator image, so the suite needs nothing built locally."""
    network = DockerNetworkOptions(
        name=NETWORK,
        driver=os.environ.get("DECNET_TEST_DOCKER_DRIVER", "macvlan"),
        subnet=str(SUBNET),
        gateway=str(SUBNET.network_address + 1),
        parent=os.environ.get("DECNET_TEST_DOCKER_PARENT") or None,
    )
    return DockerRuntimeOptions(
        network=network,
        base_image=IMAGE,
        emulator_image=IMAGE,
        service_command=("sleep", "infinity"),
        name_prefix="decnet-contract",
    )


class TestDockerLiveContract(RuntimeContract):
    """The shared contract on `DockerRuntime` with a real engine."""

    @pytest.fixture
    def probe(self, engine: docker.DockerClient) -> DockerProbe:
        prefix = str(SUBNET.network_address).rsplit(".", 1)[0]
        return DockerProbe(engine, NETWORK, prefix, name_prefix="live")

    @pytest.fixture
    async def runtime(
        self, engine: docker.DockerClient, probe: DockerProbe
    ) -> AsyncIterator[DockerRuntime]:
        live = DockerRuntime(live_options(), client=engine)
        yield live
        for name in probe.names:  # containers outlive close() by design: remove them here
            await live.remove(name)
