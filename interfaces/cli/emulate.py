"""`decnet emulate SERVICE`: one emulator inside a Docker decky, shipping records to the collector.

The Docker runtime starts one container per decky service with this command, in the network
namespace of the decky's base container (so it listens on the decky's IP). The emulator is the
same code the local runtime serves (`start_listener` with the emulator registry); only the sink
differs: a `SyslogShipper` spooling to disk and sending RFC 5424 over TCP to
`DECNET_SYSLOG_TARGET`. Captured files go to `DECNET_ARTIFACTS_DIR`, the volume the control
plane serves `/artifacts` from.

Configuration comes from the environment the runtime sets (see `docker_specs.service_run_kwargs`);
nothing here reads the control plane's settings, database or secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.logging import configure_logging
from infrastructure.runtime.banners import profile_for
from infrastructure.runtime.handlers import ServiceContext
from infrastructure.runtime.listeners import ListenerLimits
from infrastructure.runtime.local import start_listener
from infrastructure.settings import ConfigError
from infrastructure.shipper.shipper import ShipperTargetError, SyslogShipper, parse_target
from infrastructure.shipper.spool import DEFAULT_MAX_BYTES, Spool

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class EmulateSettings:
    """What one emulator container is told through its environment."""

    service: str
    decky: str
    hostname: str
    distro: str
    config: dict[str, str]
    syslog_target: str
    artifacts_dir: Path
    spool_dir: Path
    spool_max_bytes: int
    host: str
    port: int
    log_level: str

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str]) -> EmulateSettings:
        """Read and check the `DECNET_*` variables; `ConfigError` names the bad one."""
        decky = env.get("DECNET_DECKY", "")
        target = env.get("DECNET_SYSLOG_TARGET", "")
        if not decky:
            raise ConfigError("DECNET_DECKY must name the decky this emulator serves")
        try:
            parse_target(target)
        except ShipperTargetError as exc:
            raise ConfigError(f"DECNET_SYSLOG_TARGET: {exc}") from None
        config = _json_object("DECNET_SERVICE_CONFIG", env.get("DECNET_SERVICE_CONFIG") or "{}")
        data = Path(env.get("DECNET_DATA_DIR") or "/var/lib/decnet")
        artifacts = Path(env.get("DECNET_ARTIFACTS_DIR") or data / "artifacts")
        # On the shared artifacts volume (a dot directory is never served), so unsent records
        # survive the container being replaced, not only restarted.
        spool = artifacts / ".spool" / decky / service
        return cls(
            service=service,
            decky=decky,
            hostname=env.get("DECNET_HOSTNAME") or decky,
            distro=env.get("DECNET_DISTRO", ""),
            config=config,
            syslog_target=target,
            artifacts_dir=artifacts,
            spool_dir=Path(env.get("DECNET_SPOOL_DIR") or spool),
            spool_max_bytes=_int("DECNET_SPOOL_MAX_BYTES", env, DEFAULT_MAX_BYTES),
            host=env.get("DECNET_EMULATE_HOST") or "0.0.0.0",  # noqa: S104 - the decky's own netns
            port=_int("DECNET_EMULATE_PORT", env, profile_for(service).port),
            log_level=env.get("DECNET_LOG_LEVEL") or "info",
        )


def run_emulate(args: argparse.Namespace) -> int:
    """Entry point: settings from the environment, then serve until SIGTERM/SIGINT."""
    try:
        settings = EmulateSettings.from_env(args.service, os.environ)
    except ConfigError as exc:
        print(f"decnet emulate: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    asyncio.run(emulate(settings))
    return 0


async def emulate(settings: EmulateSettings, stop: asyncio.Event | None = None) -> None:
    """Serve the emulator and ship its records until `stop` is set (or a signal arrives)."""
    stop = stop or _signal_event()
    spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes)
    shipper = SyslogShipper(settings.syslog_target, spool)
    deps = EmulatorDeps(artifacts=ArtifactStore(settings.artifacts_dir))
    ctx = ServiceContext(
        settings.decky, settings.hostname, settings.service, settings.config, settings.distro
    )
    sending = asyncio.create_task(shipper.run())
    listener = await start_listener(
        ctx, emulator_handlers(deps), shipper, ListenerLimits(), settings.host, [settings.port]
    )
    log.info(
        "emulator_started",
        decky=settings.decky,
        service=settings.service,
        port=listener.port,
        target=shipper.target,
        spooled_bytes=shipper.pending_bytes,
    )
    try:
        await stop.wait()
    finally:
        await listener.stop()
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await shipper.close()
        log.info(
            "emulator_stopped",
            decky=settings.decky,
            service=settings.service,
            unsent_bytes=shipper.pending_bytes,
        )


def _signal_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _json_object(name: str, raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}


def _int(name: str, env: Mapping[str, str], default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
