"""The token signing secret kept in the data directory when `DECNET_JWT_SECRET` is not set.

Generated once (mode 0600) and reused, so a restart keeps every session valid. Written to a
temporary file and hard-linked into place, so two processes starting together agree on one
secret and neither ever reads a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

import structlog

from infrastructure.settings import ConfigError

SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret
MIN_LENGTH = 32
log = structlog.get_logger()


def load_or_create_secret(data_dir: Path) -> str:
    """The secret stored under `data_dir`, generated there first if there is none."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
            log.info("jwt_secret_created", path=str(path))
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("jwt_secret_file_readable_by_others", path=str(path), mode=oct(mode))
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_LENGTH:
        raise ConfigError(f"{path} must hold a secret of at least {MIN_LENGTH} characters")
    return secret
