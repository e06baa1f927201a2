"""One behaviour suite for every `DeckyRuntime` adapter: local runtime and Docker (faked here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any, Protocol

import anyio
import pytest

from application.ports import DeckyRuntime, RuntimeReport
from domain.fleet.decky import DeckySpec
from infrastructure.runtime.banners import standard_port
from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import (
    ROLE,
    SERVICE,
    DockerNetworkOptions,
    DockerRuntimeOptions,
    decky_filter,
)
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions
from tests.contract.conftest import make_spec
from tests.contract.fake_docker import FakeDockerClient
from tests.fakes import MemorySink


class RuntimeProbe(Protocol):
    """Adapter-specific eyes on what a runtime really did."""

    def spec(self, index: int, services: tuple[str, ...]) -> DeckySpec: ...

    async def assert_serving(self, spec: DeckySpec, report: RuntimeReport) -> None: ...

    async def assert_not_serving(self, spec: DeckySpec, ports: Mapping[str, int]) -> None: ...

    async def instances(self, spec: DeckySpec) -> dict[str, object]:
        """Service -> identity of the running instance (a listener, a container id)."""
        ...


@pytest.mark.anyio
class RuntimeContract:
    """The port's promises; subclasses provide the `runtime` and `probe` fixtures."""

    async def test_apply_starts_exactly_the_services(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """Applying a spec runs exactly its services and reports each one running."""
        spec = probe.spec(1, ("ssh", "http"))
        report = await runtime.apply(spec)
        assert report.status == "running", report.detail
        assert set(report.ports) == {"ssh", "http"}
        assert set(await probe.instances(spec)) == {"ssh", "http"}
        await probe.assert_serving(spec, report)

    async def test_reported_ports_are_valid_and_reported_again(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """Every service gets a real port, and report() repeats what apply() said."""
        spec = probe.spec(2, ("ftp", "redis"))
        applied = await runtime.apply(spec)
        assert all(1 <= port <= 65535 for port in applied.ports.values())
        assert await runtime.report(spec.name) == applied
        await probe.assert_serving(spec, applied)

    async def test_apply_twice_is_idempotent(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """A second identical apply changes nothing: same report, same instances."""
        spec = probe.spec(3, ("ssh", "http"))
        first = await runtime.apply(spec)
        before = await probe.instances(spec)
        second = await runtime.apply(spec)
        assert second == first
        assert await probe.instances(spec) == before

    async def test_mutation_replaces_removed_services_and_keeps_others(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """A new service set stops the dropped service, starts the new one, keeps the shared one."""
        spec = probe.spec(4, ("ssh", "http"))
        first = await runtime.apply(spec)
        before = await probe.instances(spec)
        mutated = replace(spec, services=("http", "ftp"))
        second = await runtime.apply(mutated)
        assert second.status == "running", second.detail
        assert set(second.ports) == {"http", "ftp"}
        assert second.ports["http"] == first.ports["http"]
        after = await probe.instances(mutated)
        assert set(after) == {"http", "ftp"}
        assert after["http"] == before["http"]
        await probe.assert_not_serving(mutated, {"ssh": first.ports["ssh"]})
        await probe.assert_serving(mutated, second)

    async def test_changed_service_config_replaces_only_that_service(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """New settings for one service restart that service alone, on the same port."""
        spec = probe.spec(5, ("ssh", "http"))
        first = await runtime.apply(spec)
        before = await probe.instances(spec)
        tuned = replace(spec, service_config={"http": {"server_header": "nginx/1.24.0"}})
        second = await runtime.apply(tuned)
        after = await probe.instances(tuned)
        assert second.status == "running", second.detail
        assert second.ports == first.ports
        assert after["ssh"] == before["ssh"]
        assert after["http"] != before["http"]

    async def test_remove_stops_everything(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """After remove the decky reports stopped and nothing of it serves."""
        spec = probe.spec(6, ("ssh", "ftp"))
        applied = await runtime.apply(spec)
        await runtime.remove(spec.name)
        assert await runtime.report(spec.name) == RuntimeReport("stopped")
        assert await probe.instances(spec) == {}
        await probe.assert_not_serving(spec, applied.ports)

    async def test_remove_of_unknown_decky_is_a_noop(self, runtime: DeckyRuntime) -> None:
        """Removing a decky the runtime never saw neither fails nor invents it."""
        await runtime.remove("never-applied")
        assert await runtime.report("never-applied") == RuntimeReport("stopped")

    async def test_report_of_unknown_decky_is_stopped(self, runtime: DeckyRuntime) -> None:
        """A decky the runtime holds nothing for is reported stopped with no ports."""
        report = await runtime.report("ghost")
        assert (report.status, report.ports) == ("stopped", {})

    async def test_deckies_are_independent(
        self, runtime: DeckyRuntime, probe: RuntimeProbe
    ) -> None:
        """Removing one decky leaves another one's services untouched."""
        keep, drop = probe.spec(7, ("http",)), probe.spec(8, ("http",))
        kept_report = await runtime.apply(keep)
        await runtime.apply(drop)
        before = await probe.instances(keep)
        await runtime.remove(drop.name)
        assert await runtime.report(keep.name) == kept_report
        assert await probe.instances(keep) == before

    async def test_health_is_ok(self, runtime: DeckyRuntime) -> None:
        """A working runtime reports itself ok."""
        assert (await runtime.health()).status == "ok"


# --- local runtime: real sockets on loopback -----------------------------------------------

# What each service must answer: (bytes to send first, expected reply prefix).
PROBES: dict[str, tuple[bytes, bytes]] = {
    "ssh": (b"", b"SSH-2.0-"),
    "ftp": (b"", b"220 "),
    "http": (b"GET / HTTP/1.1\r\nHost: decky\r\n\r\n", b"HTTP/1.1 200 OK"),
    "redis": (b"PING\r\n", b"-NOAUTH"),
}


class LocalProbe:
    """Opens real TCP connections and checks the records they leave in the sink."""

    def __init__(self, runtime: LocalRuntime, sink: MemorySink) -> None:
        self._runtime = runtime
        self._sink = sink

    def spec(self, index: int, services: tuple[str, ...]) -> DeckySpec:
        return make_spec(f"local-{index}", f"127.77.1.{index}", services)

    async def assert_serving(self, spec: DeckySpec, report: RuntimeReport) -> None:
        for service, port in report.ports.items():
            request, expected = PROBES[service]
            with anyio.fail_after(3):
                async with await anyio.connect_tcp(spec.ip, port) as stream:
                    if request:
                        await stream.send(request)
                    assert (await stream.receive()).startswith(expected), service
            for event in ("connect", "disconnect"):
                await self._sink.wait_for_event(spec.name, service, event, dst_port=str(port))

    async def assert_not_serving(self, spec: DeckySpec, ports: Mapping[str, int]) -> None:
        for service, port in ports.items():
            try:
                stream = await anyio.connect_tcp(spec.ip, port)
            except OSError:
                continue  # refused: nothing listens there any more
            await stream.aclose()
            pytest.fail(f"{service} still answers on {spec.ip}:{port}")

    async def instances(self, spec: DeckySpec) -> dict[str, object]:
        return {svc: id(listener) for svc, listener in self._runtime.listeners(spec.name).items()}


class TestLocalRuntimeContract(RuntimeContract):
    """The contract on `LocalRuntime`, with real connections."""

    @pytest.fixture
    async def runtime(self, sink: MemorySink) -> AsyncIterator[LocalRuntime]:
        local = LocalRuntime(sink, LocalRuntimeOptions(idle_timeout=2.0))
        yield local
        await local.close()

    @pytest.fixture
    def probe(self, runtime: LocalRuntime, sink: MemorySink) -> LocalProbe:
        return LocalProbe(runtime, sink)


# --- docker runtime: the same SDK calls on a fake or a real engine -------------------------


class DockerProbe:
    """Inspects containers through the docker SDK (works on the fake and on a real engine)."""

    def __init__(self, client: Any, network: str, prefix: str, name_prefix: str = "docker") -> None:
        self._client = client
        self._network = network
        self._prefix = prefix
        self._name_prefix = name_prefix
        self.names: set[str] = set()

    def spec(self, index: int, services: tuple[str, ...]) -> DeckySpec:
        self.names.add(f"{self._name_prefix}-{index}")
        return make_spec(f"{self._name_prefix}-{index}", f"{self._prefix}.{index + 10}", services)

    def _containers(self, spec: DeckySpec) -> list[Any]:
        return list(self._client.containers.list(all=True, filters=decky_filter(spec.name)))

    async def assert_serving(self, spec: DeckySpec, report: RuntimeReport) -> None:
        containers = self._containers(spec)
        (base,) = [c for c in containers if c.labels[ROLE] == "base"]
        endpoint = base.attrs["NetworkSettings"]["Networks"][self._network]
        assert (base.status, endpoint["IPAddress"]) == ("running", spec.ip)
        services = {c.labels[SERVICE]: c for c in containers if c.labels[ROLE] == "service"}
        for service, port in report.ports.items():
            assert port == standard_port(service)
            assert services[service].status == "running"
            assert services[service].attrs["HostConfig"]["NetworkMode"] == f"container:{base.id}"

    async def assert_not_serving(self, spec: DeckySpec, ports: Mapping[str, int]) -> None:
        running = {c.labels.get(SERVICE) for c in self._containers(spec)}
        assert not running & set(ports)

    async def instances(self, spec: DeckySpec) -> dict[str, object]:
        containers = self._containers(spec)
        return {c.labels[SERVICE]: c.id for c in containers if c.labels[ROLE] == "service"}


FAKE_OPTIONS = DockerRuntimeOptions(
    network=DockerNetworkOptions(name="decnet_lan", subnet="10.77.0.0/24", gateway="10.77.0.1")
)


class TestDockerRuntimeContract(RuntimeContract):
    """The contract on `DockerRuntime` driving the in-memory engine."""

    @pytest.fixture
    def engine(self) -> FakeDockerClient:
        return FakeDockerClient()

    @pytest.fixture
    async def runtime(self, engine: FakeDockerClient) -> AsyncIterator[DockerRuntime]:
        docker_runtime = DockerRuntime(FAKE_OPTIONS, client=engine)
        yield docker_runtime
        await docker_runtime.close()

    @pytest.fixture
    def probe(self, engine: FakeDockerClient) -> DockerProbe:
        return DockerProbe(engine, "decnet_lan", "10.77.0")
