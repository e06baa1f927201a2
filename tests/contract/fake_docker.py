"""An in-memory Docker engine: the subset of the docker SDK the Docker runtime uses.

It keeps the engine's rules that matter to the runtime (unique names, a network must exist,
a static IP must sit in the subnet and be free, `network_mode=container:` needs a running
target and forbids a hostname, `network` and `network_mode` exclude each other) and raises
the SDK's own exception types, so the runtime's error handling is exercised for real.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import RUN_CREATE_KWARGS, RUN_HOST_CONFIG_KWARGS

# `volumes` is run()'s own argument (the SDK turns it into binds), like the network ones.
_RUN_KWARGS = {
    *RUN_CREATE_KWARGS,
    *RUN_HOST_CONFIG_KWARGS,
    "network",
    "networking_config",
    "volumes",
}
_ids = itertools.count(1)


def _new_id() -> str:
    return f"{next(_ids):064x}"


class FakeContainer:
    """A container whose state lives in the fake engine."""

    def __init__(self, engine: FakeDockerClient, attrs: dict[str, Any]) -> None:
        self._engine = engine
        self.attrs = attrs

    @property
    def id(self) -> str:
        return str(self.attrs["Id"])

    @property
    def name(self) -> str:
        return str(self.attrs["Name"]).lstrip("/")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.attrs["Config"]["Labels"])

    @property
    def status(self) -> str:
        return str(self.attrs["State"]["Status"])

    def reload(self) -> None:
        self._engine.check_up()
        if self.id not in self._engine.containers.by_id:
            raise NotFound(f"No such container: {self.id}")

    def stop(self, timeout: int = 10) -> None:
        self.reload()
        self.set_state("exited", exit_code=0)

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.reload()
        if self.status == "running" and not force:
            raise APIError("conflict", explanation="You cannot remove a running container")
        del self._engine.containers.by_id[self.id]

    def set_state(self, status: str, exit_code: int = 0, error: str = "") -> None:
        """Test hook: what the engine would record when the process changes state."""
        self.attrs["State"] = {
            "Status": status,
            "Running": status == "running",
            "ExitCode": exit_code,
            "Error": error,
        }


class FakeContainers:
    """`client.containers`: run, list, get."""

    def __init__(self, engine: FakeDockerClient) -> None:
        self._engine = engine
        self.by_id: dict[str, FakeContainer] = {}
        self.run_calls = 0

    def run(self, image: str, command: Any = None, **kwargs: Any) -> FakeContainer:
        self._engine.check_up()
        self._check_kwargs(kwargs)
        self.run_calls += 1
        if image in self._engine.missing_images:
            raise ImageNotFound(f"pull access denied for {image}", explanation="pull access denied")
        container = self._create(image, command, kwargs)
        failure = self._start_failure(container, kwargs)
        if failure:
            container.set_state("created", error=failure)
            raise APIError(failure, explanation=failure)
        crash = self._engine.crashing_images.get(image)
        container.set_state(*(("exited", 1, crash) if crash else ("running",)))
        return container

    def list(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[Any]:
        self._engine.check_up()
        wanted = (filters or {}).get("label", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted
        return [
            c
            for c in self.by_id.values()
            if (all or c.status == "running") and all_labels_match(c.labels, wanted)
        ]

    def get(self, container_id: str) -> FakeContainer:
        self._engine.check_up()
        for c in self.by_id.values():
            if container_id in (c.id, c.name):
                return c
        raise NotFound(f"No such container: {container_id}")

    @staticmethod
    def _check_kwargs(kwargs: Mapping[str, Any]) -> None:
        unknown = set(kwargs) - _RUN_KWARGS
        if unknown:
            raise TypeError(f"run() got unexpected keyword arguments {sorted(unknown)}")
        if kwargs.get("network") and kwargs.get("network_mode"):
            raise RuntimeError('The options "network" and "network_mode" can not be used together.')
        if kwargs.get("networking_config") and not kwargs.get("network"):
            raise RuntimeError('The option "networking_config" can not be used without "network".')

    def _create(self, image: str, command: Any, kwargs: Mapping[str, Any]) -> FakeContainer:
        name = kwargs.get("name") or f"fake_{next(_ids)}"
        if any(c.name == name for c in self.by_id.values()):
            raise APIError(
                "conflict", explanation=f'The container name "/{name}" is already in use'
            )
        attrs = {
            "Id": _new_id(),
            "Name": f"/{name}",
            "Config": {
                "Image": image,
                "Cmd": command,
                "Labels": dict(kwargs.get("labels") or {}),
                "Env": [f"{k}={v}" for k, v in (kwargs.get("environment") or {}).items()],
                "Hostname": kwargs.get("hostname") or "",
            },
            "HostConfig": {
                "NetworkMode": kwargs.get("network_mode") or kwargs.get("network") or "default",
                "RestartPolicy": kwargs.get("restart_policy") or {},
            },
            "NetworkSettings": {"Networks": {}},
        }
        container = FakeContainer(self._engine, attrs)
        container.set_state("created")
        self.by_id[container.id] = container
        return container

    def _start_failure(self, container: FakeContainer, kwargs: Mapping[str, Any]) -> str:
        configured = self._engine.start_failures.get(str(container.attrs["Config"]["Image"]))
        if configured:
            return configured
        mode = str(kwargs.get("network_mode") or "")
        if mode.startswith("container:"):
            return self._join_failure(mode.removeprefix("container:"), kwargs)
        if kwargs.get("network"):
            return self._engine.networks.attach(container, kwargs)
        return ""

    def _join_failure(self, target: str, kwargs: Mapping[str, Any]) -> str:
        if kwargs.get("hostname"):
            return "conflicting options: hostname and the network mode"
        try:
            joined = self.get(target)
        except NotFound:
            return f"No such container: {target}"
        if joined.status != "running":
            return f"cannot join network of a non running container: {target}"
        return ""


def all_labels_match(labels: Mapping[str, str], wanted: list[str]) -> bool:
    """The engine's label filter: every `key` or `key=value` must match."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


class FakeNetwork:
    """A user-defined network with one IPv4 pool."""

    def __init__(self, name: str, driver: str, subnet: str | None, options: Mapping[str, str]):
        self.id = _new_id()
        self.name = name
        self.attrs: dict[str, Any] = {
            "Id": self.id,
            "Name": name,
            "Driver": driver,
            "Options": dict(options),
            "IPAM": {"Config": [{"Subnet": subnet}] if subnet else []},
        }
        self.subnet = ipaddress.ip_network(subnet) if subnet else None


class FakeNetworks:
    """`client.networks`: create, list, get; plus address bookkeeping for `run`."""

    def __init__(self, engine: FakeDockerClient) -> None:
        self._engine = engine
        self.by_name: dict[str, FakeNetwork] = {}

    def create(self, name: str, driver: str | None = None, **kwargs: Any) -> FakeNetwork:
        self._engine.check_up()
        if name in self.by_name:
            raise APIError("conflict", explanation=f"network with name {name} already exists")
        pools = (kwargs.get("ipam") or {}).get("Config", [])
        subnet = pools[0].get("Subnet") if pools else None
        network = FakeNetwork(name, driver or "bridge", subnet, kwargs.get("options") or {})
        self.by_name[name] = network
        return network

    def list(self, names: list[str] | None = None, **_: Any) -> list[FakeNetwork]:
        self._engine.check_up()
        # Like the engine, the name filter matches substrings.
        return [n for n in self.by_name.values() if not names or any(x in n.name for x in names)]

    def get(self, network_id: str) -> FakeNetwork:
        self._engine.check_up()
        for n in self.by_name.values():
            if network_id in (n.id, n.name):
                return n
        raise NotFound(f"network {network_id} not found")

    def attach(self, container: FakeContainer, kwargs: Mapping[str, Any]) -> str:
        """Give a starting container its endpoint; return the engine's error, if any."""
        name = str(kwargs["network"])
        network = self.by_name.get(name)
        if network is None:
            return f"network {name} not found"
        endpoint = (kwargs.get("networking_config") or {}).get(name) or {}
        ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address")
        if ip and network.subnet and ipaddress.ip_address(ip) not in network.subnet:
            return f"no configured subnet contains IP address {ip}"
        if ip and ip in self._addresses_in_use(name):
            return "Address already in use"
        settings = {"IPAddress": ip or "", "MacAddress": endpoint.get("MacAddress", "")}
        container.attrs["NetworkSettings"]["Networks"][name] = settings
        return ""

    def _addresses_in_use(self, name: str) -> set[str]:
        return {
            c.attrs["NetworkSettings"]["Networks"][name]["IPAddress"]
            for c in self._engine.containers.by_id.values()
            if name in c.attrs["NetworkSettings"]["Networks"] and c.status == "running"
        }


class FakeDockerClient:
    """Stands in for `docker.DockerClient`; knobs let a test break the engine on purpose."""

    def __init__(self) -> None:
        self.containers = FakeContainers(self)
        self.networks = FakeNetworks(self)
        self.engine_down: str | None = None  # set: every call fails as with a dead socket
        self.missing_images: set[str] = set()
        self.start_failures: dict[str, str] = {}  # image -> error when its container starts
        self.crashing_images: dict[str, str] = {}  # image -> error right after it starts
        self.closed = False

    def check_up(self) -> None:
        if self.engine_down is not None:
            raise DockerException(f"Error while fetching server API version: {self.engine_down}")

    def ping(self) -> bool:
        self.check_up()
        return True

    def close(self) -> None:
        self.closed = True
