"""Pure pieces of the Docker runtime: options, names, labels, container arguments, state reading."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from application.ports import RuntimeReport, RuntimeState
from domain.fleet.decky import DeckySpec
from infrastructure.runtime.banners import standard_port

MANAGED = "decnet.managed"
DECKY = "decnet.decky"
SERVICE = "decnet.service"
ROLE = "decnet.role"  # "base" (holds the network namespace) or "service"
FINGERPRINT = "decnet.fingerprint"  # hash of what the container was built from: change => replace
ARTIFACTS_MOUNT = "/var/lib/decnet/artifacts"
# Service containers keep only what an emulator needs: low ports, and writing captured files to
# an artifacts directory that may belong to another user of the host.
SERVICE_CAPS = ("NET_BIND_SERVICE", "DAC_OVERRIDE")


@dataclass(frozen=True, slots=True)
class DockerNetworkOptions:
    """The LAN the deckies sit on; created when missing if `subnet` is given."""

    name: str = "decnet_lan"
    # macvlan or ipvlan in production (deckies on the real LAN); bridge where the kernel has
    # neither (the live tests here) or for a lab reachable only from the Docker host.
    driver: str = "macvlan"
    subnet: str | None = None  # CIDR, e.g. the INI's [general] net
    gateway: str | None = None
    parent: str | None = None  # host NIC; without one Docker uses an internal dummy link

    def driver_options(self) -> dict[str, str]:
        """`parent` for macvlan/ipvlan; a bridge has no parent NIC."""
        return {"parent": self.parent} if self.parent and self.driver != "bridge" else {}


@dataclass(frozen=True, slots=True)
class DockerRuntimeOptions:
    """Images, commands and the network of the Docker runtime."""

    network: DockerNetworkOptions = field(default_factory=DockerNetworkOptions)
    base_image: str = "decnet-es/base:bookworm"  # infrastructure/runtime/images/build.sh
    base_command: tuple[str, ...] = ("sleep", "infinity")
    emulator_image: str = "decnet-es/emulator:latest"
    service_images: Mapping[str, str] = field(default_factory=dict)
    service_command: tuple[str, ...] = ("decnet", "emulate", "{service}")
    syslog_target: str = ""  # where emulators ship RFC 5424 records: tcp://HOST:PORT
    # Where captured files go: a volume name or an absolute host path, mounted at
    # ARTIFACTS_MOUNT in every service container; the control plane serves /artifacts from it.
    artifacts_volume: str | None = None
    name_prefix: str = "decnet"


def fingerprint(parts: Mapping[str, Any]) -> str:
    """A short stable hash of the inputs a container was created from."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def decky_filter(decky: str) -> dict[str, list[str]]:
    """The label filter selecting every container of one decky."""
    return {"label": [f"{MANAGED}=true", f"{DECKY}={decky}"]}


def base_run_kwargs(opts: DockerRuntimeOptions, spec: DeckySpec) -> dict[str, Any]:
    """`containers.run` arguments of the decky's base ("pause") container."""
    network = opts.network.name
    endpoint = {"IPAMConfig": {"IPv4Address": spec.ip}, "MacAddress": spec.mac}
    inputs = {
        "image": opts.base_image,
        "command": opts.base_command,
        "endpoint": endpoint,
        "hostname": spec.hostname,
        "network": network,
    }
    return {
        "image": opts.base_image,
        "command": list(opts.base_command),
        "name": f"{opts.name_prefix}-{spec.name}",
        "hostname": spec.hostname,
        # Set twice on purpose: engines before API 1.44 read only the container-wide MAC,
        # newer ones the endpoint's; the values agree so neither complains.
        "mac_address": spec.mac,
        "detach": True,
        "labels": _labels(spec.name, "base", fingerprint(inputs)),
        "network": network,
        "networking_config": {network: endpoint},
        "restart_policy": {"Name": "unless-stopped"},
        "cap_drop": ["ALL"],  # it only holds the namespace
        "security_opt": ["no-new-privileges"],
    }


def service_run_kwargs(
    opts: DockerRuntimeOptions, spec: DeckySpec, service: str, base_id: str
) -> dict[str, Any]:
    """`containers.run` arguments of one service container sharing the base's network."""
    image = opts.service_images.get(service, opts.emulator_image)
    command = [part.replace("{service}", service) for part in opts.service_command]
    env = {
        "DECNET_DECKY": spec.name,
        "DECNET_SERVICE": service,
        "DECNET_HOSTNAME": spec.hostname,
        "DECNET_DISTRO": spec.distro,
        "DECNET_SERVICE_CONFIG": json.dumps(spec.service_config.get(service, {}), sort_keys=True),
        "DECNET_SYSLOG_TARGET": opts.syslog_target,
        "DECNET_ARTIFACTS_DIR": ARTIFACTS_MOUNT,
    }
    volumes = (
        {opts.artifacts_volume: {"bind": ARTIFACTS_MOUNT, "mode": "rw"}}
        if opts.artifacts_volume
        else {}
    )
    # The base's id is an input: a replaced base (new IP, MAC or hostname) takes the services'
    # namespace with it, so they must be recreated even when nothing else changed.
    inputs = {"image": image, "cmd": command, "env": env, "volumes": volumes, "base": base_id}
    labels = _labels(spec.name, "service", fingerprint(inputs))
    return {
        "image": image,
        "command": command,
        "name": f"{opts.name_prefix}-{spec.name}-{service}",
        "detach": True,
        "labels": {**labels, SERVICE: service},
        "environment": env,
        "volumes": volumes,
        "network_mode": f"container:{base_id}",
        "restart_policy": {"Name": "unless-stopped"},
        "cap_drop": ["ALL"],
        "cap_add": list(SERVICE_CAPS),
        "security_opt": ["no-new-privileges"],
    }


def _labels(decky: str, role: str, print_: str) -> dict[str, str]:
    return {MANAGED: "true", DECKY: decky, ROLE: role, FINGERPRINT: print_}


def container_state(attrs: Mapping[str, Any]) -> tuple[RuntimeState, str]:
    """Map the engine's `State` of a container to a runtime state and reason."""
    state = attrs.get("State") or {}
    status = state.get("Status", "unknown")
    error = state.get("Error") or ""
    if status == "running":
        return "running", ""
    if error:
        return "failed", error
    if status in {"exited", "dead"}:
        return "failed", f"{status} with code {state.get('ExitCode', '?')}"
    return "pending", status  # created, restarting, paused, removing


def summarize(
    states: Mapping[str, tuple[RuntimeState, str]], services: Iterable[str]
) -> RuntimeReport:
    """One decky's report from per-container states ("base" plus one per service)."""
    ports = {svc: standard_port(svc) for svc in services}
    failed = [f"{name}: {why}" for name, (st, why) in states.items() if st == "failed"]
    if failed:
        return RuntimeReport("failed", "; ".join(sorted(failed)), ports)
    pending = [f"{name}: {why}" for name, (st, why) in states.items() if st == "pending"]
    if pending:
        return RuntimeReport("pending", "; ".join(sorted(pending)), ports)
    return RuntimeReport("running", "", ports)
