"""The CLI's saved session: `decnet login` writes it, every client command reads it.

`$XDG_CONFIG_HOME/decnet/token` (else `~/.config/decnet/token`), mode 0600 in a 0700 directory:
the server URL, the username and the bearer token. It is used when no `--token` and no
`DECNET_CLI_TOKEN` are given and the URL matches.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

EXPIRY_MARGIN_S = 5.0


@dataclass(frozen=True)
class SavedSession:
    """What `decnet login` remembers."""

    url: str
    username: str
    token: str

    def expired(self, now: float | None = None) -> bool:
        """Whether the token's `exp` (read, not verified: the server checks it) has passed."""
        expires = token_expiry(self.token)
        moment = time.time() if now is None else now
        return expires is not None and expires - EXPIRY_MARGIN_S <= moment


def session_path() -> Path:
    """Where the session lives for this user."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "decnet" / "token"


def save_session(session: SavedSession, path: Path | None = None) -> Path:
    """Write the session readable by its owner only (replacing any earlier one)."""
    target = path or session_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".token.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(session), out)
    os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to a file left from a crash
    os.replace(temporary, target)
    return target


def load_session(path: Path | None = None) -> SavedSession | None:
    """The saved session, or None if there is none or it cannot be read."""
    source = path or session_path()
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return SavedSession(str(raw["url"]), str(raw["username"]), str(raw["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, or None if it cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return float(claims["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
