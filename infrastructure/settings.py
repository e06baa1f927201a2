"""Typed configuration from `DECNET_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

_TRUE = {"1", "true", "yes", "on"}
Positive = Annotated[int, msgspec.Meta(ge=1)]


class ConfigError(Exception):
    """The configuration cannot start a server; the message says what to set."""


class AppSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a process needs to start; built once in the composition root."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    data_dir_path: str = ".decnet"
    database_url: str | None = None
    admin_user: str = "admin"
    admin_password: str | None = None
    jwt_secret: str | None = None
    jwt_ttl_s: int = 900
    developer: bool = False
    artifacts_root: str | None = None
    runtime: str = "local"
    deploy_wait_s: float = 20.0
    syslog_host: str = "127.0.0.1"
    syslog_port: int = 5514
    syslog_tcp_idle_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    syslog_tcp_max_clients: Positive = 512
    syslog_tcp_max_per_ip: Positive = 64
    syslog_udp_rcvbuf: Positive = 8 * 1024 * 1024
    journal_fsync: Literal["batch", "off"] = "batch"
    redis_url: str | None = None
    redis_prefix: str = "decnet:"
    sniffer_interface: str | None = None
    argon2_profile: str = "default"
    log_level: str = "info"
    max_views: int = 5

    @property
    def data_dir(self) -> Path:
        """Where the embedded database, spool and artifacts live by default."""
        return Path(self.data_dir_path)

    @property
    def artifacts_dir(self) -> Path:
        """Where captured files live (defaults under the data dir)."""
        return Path(self.artifacts_root) if self.artifacts_root else self.data_dir / "artifacts"


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a `.env` file (comments, blanks and quotes handled)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(
    environ: dict[str, str] | None = None, dotenv: Path = Path(".env")
) -> AppSettings:
    """Environment wins over `.env`; unknown `DECNET_*` keys are ignored."""
    env = {**read_dotenv(dotenv), **(os.environ if environ is None else environ)}
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(AppSettings):
        value = env.get(f"DECNET_{field.name.removesuffix('_path').upper()}")
        if value not in (None, ""):
            raw[field.name] = value
    if "developer" in raw:
        raw["developer"] = str(raw["developer"]).lower() in _TRUE
    try:
        settings = msgspec.convert(raw, AppSettings, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"invalid DECNET_* setting: {e}") from None
    _check_secret(settings)
    return settings


def _check_secret(settings: AppSettings) -> None:
    if settings.jwt_secret is not None and len(settings.jwt_secret) >= 32:
        return
    if settings.developer:
        return
    raise ConfigError(
        "DECNET_JWT_SECRET must be set to at least 32 characters "
        "(or set DECNET_DEVELOPER=true to use a throwaway secret)"
    )
