"""Tool guesses from User-Agents and client banners (SPEC §6)."""

from __future__ import annotations

import pytest

from domain.attackers.tools import TOOL_NAMES, guess_tools, order_tools


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
            ["nmap"],
        ),
        ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", ["masscan"]),
        ("Mozilla/5.0 zgrab/0.x", ["zgrab"]),
        ("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)", ["nikto"]),
        ("sqlmap/1.8#stable (https://sqlmap.org)", ["sqlmap"]),
        (
            "Mozilla/5.0 ... Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
            ["nuclei"],
        ),
        ("gobuster/3.6", ["gobuster"]),
        ("DirBuster-1.0-RC1 (http://www.owasp.org)", ["dirbuster"]),
        ("Wfuzz/3.1.0", ["wfuzz"]),
        ("Mozilla/4.0 (Hydra)", ["hydra"]),
        ("Metasploit RPC client", ["metasploit"]),
        ("curl/8.5.0", ["curl"]),
        ("Wget/1.21.4", ["wget"]),
        ("python-requests/2.31.0", ["python-requests"]),
        ("SSH-2.0-libssh_0.9.6", ["libssh"]),
        ("SSH-2.0-libssh2_1.11.0", ["libssh2"]),
        ("SSH-2.0-paramiko_3.4.0", ["paramiko"]),
        ("SSH-2.0-Go", ["go-ssh"]),
        ("SSH-2.0-AsyncSSH_2.14.2", ["asyncssh"]),
        ("SSH-2.0-PuTTY_Release_0.80", ["putty"]),
        ("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13", ["openssh"]),
        ("SSH-2.0-MEDUSA_1.0", ["medusa"]),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0", []),
        ("libcurl-agent/1.0", []),
        ("SSH-2.0-Gopher", []),
    ],
)
def test_known_signatures(text: str, expected: list[str]) -> None:
    """Each catalogued tool is recognised from its usual User-Agent or banner, nothing else."""
    assert guess_tools(text) == expected


def test_match_is_case_insensitive() -> None:
    """Case does not matter."""
    assert guess_tools("NMAP") == guess_tools("nmap") == ["nmap"]


def test_several_tools_come_in_catalogue_order() -> None:
    """Several matches are listed in catalogue order, not text order."""
    assert guess_tools("curl wrapper around nmap") == ["nmap", "curl"]


def test_order_tools_dedups_and_sorts_unknown_last() -> None:
    """order_tools de-duplicates, keeps catalogue order, and puts unknown names last."""
    assert order_tools(["zz", "curl", "nmap", "curl", "aa"]) == ["nmap", "curl", "aa", "zz"]
    assert order_tools(reversed(TOOL_NAMES)) == list(TOOL_NAMES)
