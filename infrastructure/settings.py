"""Typed configuration from `DECNET_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec

_TRUE = {"1", "true", "yes", "on"}
_ORIGIN = re.compile(r"https?://[^/\s,]+")
Positive = Annotated[int, msgspec.Meta(ge=1)]


class ConfigError(Exception):
    """The configuration cannot start a server; the message says what to set."""


class AppSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a process needs to start; built once in the composition root."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # A request must arrive whole within this long of its first byte (interfaces/http/connection).
    http_request_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    data_dir_path: str = ".decnet"
    database_url: str | None = None
    admin_user: str = "admin"
    admin_password: str | None = None
    jwt_secret: str | None = None
    jwt_ttl_s: int = 900
    developer: bool = False
    artifacts_root: str | None = None
    runtime: str = "local"
    # The Docker runtime (DECNET_RUNTIME=docker); see docs/fleet.md "Docker deckies".
    docker_network: str = "decnet_lan"
    docker_network_driver: Literal["macvlan", "ipvlan", "bridge"] = "macvlan"
    docker_base_image: str = "decnet-es/base:bookworm"
    docker_emulator_image: str = "decnet-es/emulator:latest"
    docker_syslog_target: str | None = None  # default tcp://<fleet gateway>:<syslog_port>
    docker_artifacts_volume: str | None = None  # volume name or host path; default artifacts_dir
    docker_name_prefix: str = "decnet"
    deploy_wait_s: float = 20.0
    database_wait_s: float = 30.0  # how long a start waits for an external database to answer
    syslog_host: str = "127.0.0.1"
    syslog_port: int = 5514
    syslog_tcp_idle_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    syslog_tcp_max_clients: Positive = 512
    syslog_tcp_max_per_ip: Positive = 64
    syslog_udp_rcvbuf: Positive = 8 * 1024 * 1024
    journal_fsync: Literal["batch", "off"] = "batch"
    redis_url: str | None = None
    redis_prefix: str = "decnet:"
    redis_wait_s: float = 30.0  # how long a process that needs Redis waits for it at start
    sniffer_interface: str | None = None
    argon2_profile: str = "default"
    log_level: str = "info"
    # Prometheus /metrics on its own port, unauthenticated (interfaces/metrics.py says why).
    metrics_host: str = "127.0.0.1"
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    max_views: int = 5
    max_streams_per_user: Positive = 32  # SSE streams one user holds open in one API process
    cors_origins: str = ""  # comma list of browser origins allowed to call the API; none by default
    signing_key_file: str | None = None
    checkpoint_every_events: Positive = 10_000
    checkpoint_every_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0

    @property
    def data_dir(self) -> Path:
        """Where the embedded database, spool and artifacts live by default."""
        return Path(self.data_dir_path)

    @property
    def cors_origin_list(self) -> list[str]:
        """The configured CORS origins (`scheme://host[:port]` each, or `*`), in order."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def artifacts_dir(self) -> Path:
        """Where captured files live (defaults under the data dir)."""
        return Path(self.artifacts_root) if self.artifacts_root else self.data_dir / "artifacts"

    @property
    def signing_key_path(self) -> Path:
        """The checkpoint signing key: `DECNET_SIGNING_KEY_FILE`, else under the data dir."""
        if self.signing_key_file:
            return Path(self.signing_key_file)
        return self.data_dir / "signing_key.pem"


def env_name(field: str) -> str:
    """The environment variable of a settings field (`data_dir_path` is `DECNET_DATA_DIR`)."""
    return f"DECNET_{field.removesuffix('_path').upper()}"


# What an unset (None) setting means, where "unset" alone would not say.
UNSET_MEANS = {
    "database_url": "unset: the embedded PostgreSQL under the data dir",
    "admin_password": "unset: generated and printed once",
    "jwt_secret": "unset: generated once into <data dir>/jwt_secret",
    "artifacts_root": "unset: <data dir>/artifacts",
    "redis_url": "unset: decnet serve shares in-process; split processes refuse to start",
    "sniffer_interface": "unset: no sniffer",
    "cors_origins": "unset: no other origin may call the API (comma list of origins)",
    "docker_syslog_target": "unset: tcp://<fleet gateway>:<syslog port>",
    "docker_artifacts_volume": "unset: the artifacts directory, bind-mounted",
    "metrics_port": "unset: no /metrics listener",
}


def settings_help() -> str:
    """Every `DECNET_*` variable with its default, for `decnet serve --help`."""
    lines = ["environment (or a .env file in the working directory; docs/operations.md):"]
    defaults = AppSettings()
    for field in msgspec.structs.fields(AppSettings):
        value = getattr(defaults, field.name)
        if value is None or value == "":
            shown = UNSET_MEANS.get(field.name, "unset")
        elif isinstance(value, str):
            shown = value
        else:
            shown = str(value).lower()
        lines.append(f"  {env_name(field.name):34} {shown}")
    return "\n".join(lines)


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
        value = env.get(env_name(field.name))
        if value not in (None, ""):
            raw[field.name] = value
    if "developer" in raw:
        raw["developer"] = str(raw["developer"]).lower() in _TRUE
    try:
        settings = msgspec.convert(raw, AppSettings, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"invalid DECNET_* setting: {e}") from None
    _check_secret(settings)
    _check_origins(settings)
    return settings


def _check_origins(settings: AppSettings) -> None:
    for origin in settings.cors_origin_list:
        if origin != "*" and _ORIGIN.fullmatch(origin) is None:
            raise ConfigError(
                f"DECNET_CORS_ORIGINS: {origin[:80]!r} is not an origin like"
                " https://dashboard.example:8443 (scheme and host, no path) or *"
            )


def _check_secret(settings: AppSettings) -> None:
    """A secret that is set must be long; an unset one is generated into the data dir."""
    if settings.jwt_secret is None or len(settings.jwt_secret) >= 32:
        return
    raise ConfigError(
        "DECNET_JWT_SECRET must be at least 32 characters "
        "(or leave it unset: one is generated once into DECNET_DATA_DIR)"
    )
