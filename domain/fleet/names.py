"""The one rule a decky name follows, wherever the name comes from (INI, artifact paths)."""

from __future__ import annotations

import re

DECKY_NAME_RULE = "^[a-z0-9][a-z0-9-]{0,62}$"
_DECKY_NAME = re.compile(DECKY_NAME_RULE)


def is_decky_name(name: str) -> bool:
    """True when `name` follows `DECKY_NAME_RULE`."""
    return _DECKY_NAME.fullmatch(name) is not None
