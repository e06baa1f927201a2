"""Helpers for the fleet black-box tests: INI deploys, `/deckies` lookups, raw TCP probes."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from domain.fleet.catalogue import SERVICES
from tests.api.conftest import activate_admin
from tests.api.harness import ApiClient, Backend, DecnetServer, running_server


def deploy(api: ApiClient, token: str, ini: str) -> httpx.Response:
    """POST an INI to `/deckies/deploy`."""
    return api.post("/deckies/deploy", token, json={"ini_content": ini})


def deckies(api: ApiClient, token: str) -> dict[str, dict[str, Any]]:
    """`/deckies` by name."""
    response = api.get("/deckies", token)
    assert response.status_code == 200, response.text
    return {d["name"]: d for d in response.json()}


def banner(ip: str, port: int, timeout: float = 5.0) -> bytes:
    """The first bytes a TCP service sends after accepting a connection."""
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        return sock.recv(256)


def accepts(ip: str, port: int) -> bool:
    """True when something accepts TCP connections on ip:port (it may wait for us to speak)."""
    with socket.create_connection((ip, port), timeout=2.0):
        return True


def refuses(ip: str, port: int) -> bool:
    """True when nothing accepts TCP connections on ip:port."""
    try:
        with socket.create_connection((ip, port), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True


def tcp_ports(decky: dict[str, Any]) -> dict[str, int]:
    """The decky's listening ports of TCP services (UDP ones cannot be connect()-probed)."""
    return {s: p for s, p in decky["ports"].items() if SERVICES[s].transport == "tcp"}


@contextlib.contextmanager
def own_server(backend: Backend, data_dir: Path, **env: str) -> Iterator[tuple[DecnetServer, str]]:
    """A dedicated server with extra `DECNET_*` settings, and an admin token for it."""
    with (
        backend.database_url() as url,
        running_server(data_dir, url, extra_env=env) as server,
    ):
        yield server, activate_admin(server)
