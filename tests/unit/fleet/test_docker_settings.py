"""`DECNET_DOCKER_*` settings become the Docker runtime's options (interfaces/fleet.py)."""

from __future__ import annotations

from pathlib import Path

from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions, DockerRuntimeOptions
from infrastructure.settings import load_settings
from interfaces.fleet import docker_factory


def options_for(env: dict[str, str], network: tuple[str | None, ...]) -> DockerRuntimeOptions:
    settings = load_settings({"DECNET_DEVELOPER": "true", **env}, dotenv=Path("/nonexistent"))
    subnet, gateway, parent = network
    runtime = docker_factory(settings)((subnet, gateway, parent))
    assert isinstance(runtime, DockerRuntime)
    return runtime.options


def test_defaults_ship_to_the_fleet_gateway_and_mount_the_artifacts_dir(tmp_path: Path) -> None:
    """Without a target, emulators ship to the gateway at the syslog port (fits a bridge)."""
    env = {"DECNET_SYSLOG_PORT": "6514", "DECNET_ARTIFACTS_ROOT": str(tmp_path / "art")}
    opts = options_for(env, ("10.9.0.0/24", "10.9.0.254", "eth1"))
    assert opts.syslog_target == "tcp://10.9.0.254:6514"
    assert opts.artifacts_volume == str((tmp_path / "art").resolve())
    assert (opts.network.driver, opts.network.parent) == ("macvlan", "eth1")
    assert opts.network.driver_options() == {"parent": "eth1"}
    assert opts.base_image == "decnet-es/base:bookworm"


def test_a_subnet_without_gateway_ships_to_its_first_host() -> None:
    """Docker gives a network without `gw` its first host address: that is the target."""
    assert options_for({}, ("10.9.4.0/24", None, None)).syslog_target == "tcp://10.9.4.1:5514"


def test_explicit_settings_win() -> None:
    """Every DECNET_DOCKER_* variable reaches the options."""
    env = {
        "DECNET_DOCKER_NETWORK": "lab_lan",
        "DECNET_DOCKER_NETWORK_DRIVER": "bridge",
        "DECNET_DOCKER_BASE_IMAGE": "base:1",
        "DECNET_DOCKER_EMULATOR_IMAGE": "emu:1",
        "DECNET_DOCKER_SYSLOG_TARGET": "tcp://192.0.2.5:514",
        "DECNET_DOCKER_ARTIFACTS_VOLUME": "decnet_artifacts",
        "DECNET_DOCKER_NAME_PREFIX": "lab",
    }
    opts = options_for(env, ("10.9.0.0/24", "10.9.0.1", "eth1"))
    assert (opts.network.name, opts.network.driver) == ("lab_lan", "bridge")
    assert opts.network.driver_options() == {}  # a bridge has no parent NIC
    assert (opts.base_image, opts.emulator_image) == ("base:1", "emu:1")
    assert opts.syslog_target == "tcp://192.0.2.5:514"
    assert (opts.artifacts_volume, opts.name_prefix) == ("decnet_artifacts", "lab")


def test_no_network_no_target() -> None:
    """Before an INI sets the fleet's net there is nowhere to ship: the target stays empty."""
    assert options_for({}, (None, None, None)).syslog_target == ""
    assert DockerNetworkOptions().driver_options() == {}
