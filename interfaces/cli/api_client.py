"""A small client of a running server's API for the CLI (stdlib only: no extra dependency)."""

from __future__ import annotations

import getpass
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
TIMEOUT_S = 120.0  # a deploy waits for the runtime (DECNET_DEPLOY_WAIT_S) before answering


class ApiError(Exception):
    """The server refused the request (or could not be reached); the message is its detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass
class ApiClient:
    """Bearer-authenticated JSON requests to `<url>/api/v1`."""

    url: str
    token: str | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON or None); any status ≥ 400 raises `ApiError`."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the operator chooses the URL)
            self.url.rstrip("/") + API_PREFIX + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - as above
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _detail(e.read())) from None
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(0, f"cannot reach {self.url}: {e}") from None

    def login(self, username: str, password: str) -> None:
        """Exchange credentials for a token."""
        _, body = self.request("POST", "/auth/login", {"username": username, "password": password})
        self.token = body["access_token"]


def _detail(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["detail"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:200]


def connect(url: str, token: str | None, user: str | None, password: str | None) -> ApiClient:
    """A client with a token: given, else from `DECNET_CLI_TOKEN`, else by logging in."""
    client = ApiClient(url, token or os.environ.get("DECNET_CLI_TOKEN") or None)
    if client.token is None:
        user = user or os.environ.get("DECNET_CLI_USER") or "admin"
        password = password or os.environ.get("DECNET_CLI_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise ApiError(0, "no credentials: set DECNET_CLI_TOKEN or --user/--password")
            password = getpass.getpass(f"password for {user}: ")
        client.login(user, password)
    return client
