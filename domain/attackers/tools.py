"""Tool guesses from User-Agents and client banners (SPEC §6)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Catalogue order is the output order, so guesses read the same on every rebuild.
_SIGNATURES: tuple[tuple[str, str], ...] = (
    ("nmap", r"nmap"),
    ("masscan", r"masscan"),
    ("zmap", r"zmap"),
    ("zgrab", r"zgrab"),
    ("nikto", r"nikto"),
    ("sqlmap", r"sqlmap"),
    ("nuclei", r"nuclei"),
    ("gobuster", r"gobuster"),
    ("dirbuster", r"dirbuster"),
    ("feroxbuster", r"feroxbuster"),
    ("ffuf", r"\bffuf\b"),
    ("wfuzz", r"wfuzz"),
    ("wpscan", r"wpscan"),
    ("whatweb", r"whatweb"),
    ("hydra", r"hydra"),
    ("medusa", r"medusa"),
    ("ncrack", r"ncrack"),
    ("metasploit", r"metasploit|meterpreter"),
    # Word boundaries: "libcurl" inside another client's UA is not the curl tool.
    ("curl", r"\bcurl\b"),
    ("wget", r"\bwget\b"),
    ("python-requests", r"python-requests"),
    ("python-urllib", r"python-urllib"),
    ("go-http-client", r"go-http-client"),
    ("libwww-perl", r"libwww-perl"),
    # libssh and libssh2 are different libraries behind different tools.
    ("libssh2", r"libssh2"),
    ("libssh", r"libssh(?!2)"),
    ("paramiko", r"paramiko"),
    ("go-ssh", r"ssh-2\.0-go\b"),
    ("asyncssh", r"asyncssh"),
    ("putty", r"putty"),
    ("openssh", r"openssh"),
)
_PATTERNS = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _SIGNATURES)
TOOL_NAMES: tuple[str, ...] = tuple(name for name, _ in _SIGNATURES)
_RANK = {name: index for index, name in enumerate(TOOL_NAMES)}


def guess_tools(text: str) -> list[str]:
    """Tool names whose signature appears in `text` (case-insensitive), in catalogue order."""
    return list(_guesses(text))


@lru_cache(maxsize=4096)
def _guesses(text: str) -> tuple[str, ...]:
    # 31 regex searches per User-Agent or banner; a fleet sees the same few texts again and again.
    return tuple(name for name, pattern in _PATTERNS if pattern.search(text))


def order_tools(names: Iterable[str]) -> list[str]:
    """Distinct names in catalogue order; names outside the catalogue last, alphabetically."""
    return sorted(set(names), key=lambda name: (_RANK.get(name, len(_RANK)), name))
