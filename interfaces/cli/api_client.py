"""A small client of a running server's API for the CLI (stdlib only: no extra dependency)."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from interfaces.cli.session_file import SavedSession, load_session, save_session

API_PREFIX = "/api/v1"
TIMEOUT_S = 120.0  # a deploy waits for the runtime (DECNET_DEPLOY_WAIT_S) before answering


# A server listening on every address is reached on loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - mapped away, never bound


def default_url() -> str:
    """`$DECNET_CLI_URL`, else the API that `decnet serve` started with this environment
    listens on (`DECNET_API_HOST` / `DECNET_API_PORT`, by default 127.0.0.1:8000): a command
    run beside its server finds it, and never mistakes another one on the default port for it."""
    given = os.environ.get("DECNET_CLI_URL")
    if given:
        return given
    host = os.environ.get("DECNET_API_HOST") or "127.0.0.1"
    host = _WILDCARDS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{os.environ.get('DECNET_API_PORT') or 8000}"


class NamedServer(argparse.Action):
    """`--url`: the server's address, and that the operator named one (`url_named`): a command
    that can also work without a server (`projections`, `views`) then never works locally
    instead of on the server it was pointed at."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        namespace.url = values
        namespace.url_named = True


def url_named_by_environment() -> bool:
    """Whether `$DECNET_CLI_URL` names the server (the default of `url_named`)."""
    return bool(os.environ.get("DECNET_CLI_URL"))


def server_url(text: str) -> str:
    """`--url` (an argparse type): an http(s) URL with a host and a valid port, else a usage
    error naming it — urllib would raise on it mid-command, or not reach it and run locally."""
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is the check (out of range, not a number)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not a server URL: {e}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise argparse.ArgumentTypeError(f"{text!r} is not a server URL (http[s]://host[:port])")
    return text


def positive_seconds(text: str) -> float:
    """A finite number of seconds above zero (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def segment(name: str) -> str:
    """A name typed on the command line as one path segment: `/`, `?`, spaces escaped, so the
    server judges the name instead of the request reaching another route."""
    return urllib.parse.quote(name, safe="")


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
    renew: Callable[[], None] | None = None  # a new token when the server answers 401

    def request(
        self, method: str, path: str, body: Any = None, timeout: float = TIMEOUT_S
    ) -> tuple[int, Any]:
        """(status, decoded JSON or None); any status ≥ 400 raises `ApiError`.

        A 401 with a renewable (saved) session renews it once and retries.
        """
        status, raw, _ = self.fetch(method, path, body, timeout)
        return status, json.loads(raw) if raw else None

    def fetch(
        self, method: str, path: str, body: Any = None, timeout: float = TIMEOUT_S
    ) -> tuple[int, bytes, Message]:
        """(status, body bytes, headers), as `request` but undecoded (a download)."""
        try:
            return self._send(method, path, body, timeout)
        except ApiError as e:
            if e.status != 401 or self.renew is None:
                raise
            renew, self.renew = self.renew, None
            renew()
            return self._send(method, path, body, timeout)

    def _send(
        self, method: str, path: str, body: Any, timeout: float = TIMEOUT_S
    ) -> tuple[int, bytes, Message]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the operator chooses the URL)
            self.url.rstrip("/") + API_PREFIX + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _detail(e.read())) from None
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(0, f"cannot reach {self.url}: {e}") from None

    def login(self, username: str, password: str) -> bool:
        """Exchange credentials for a token; whether the password must be changed first."""
        _, raw, _ = self._send("POST", "/auth/login", {"username": username, "password": password})
        body = json.loads(raw)
        self.token = body["access_token"]
        return bool(body.get("must_change_password"))


def _detail(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["detail"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:200]


def connect(
    url: str,
    token: str | None,
    user: str | None,
    password: str | None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> ApiClient:
    """A client with a token: given, else `DECNET_CLI_TOKEN`, else the session `decnet login`
    saved for this URL (renewed by a password prompt when it has expired), else by logging in."""
    given = token or os.environ.get("DECNET_CLI_TOKEN") or None
    if given is not None:
        return ApiClient(url, given)
    password = password or os.environ.get("DECNET_CLI_PASSWORD")
    saved = load_session() if user is None and password is None else None
    if saved is not None and _same_server(saved.url, url):
        return _resumed(saved, prompt)
    client = ApiClient(url)
    user = user or os.environ.get("DECNET_CLI_USER") or "admin"
    if password is None:
        if not sys.stdin.isatty():
            raise ApiError(0, _no_credentials(url, saved))
        password = prompt(f"password for {user}: ")
    client.login(user, password)
    return client


def _no_credentials(url: str, saved: SavedSession | None) -> str:
    """Why a command has no token, and what gives it one."""
    if saved is not None:  # for another server: the command was likely pointed elsewhere
        return (
            f"no credentials for {url}: the saved session is for {saved.url} (pass --url"
            f" {saved.url} or set DECNET_CLI_URL), or run `decnet login --url {url}`"
        )
    return "no credentials: run `decnet login`, or set DECNET_CLI_TOKEN"


def _resumed(saved: SavedSession, prompt: Callable[[str], str]) -> ApiClient:
    client = ApiClient(saved.url, saved.token)

    def renew() -> None:
        if not sys.stdin.isatty():
            raise ApiError(0, "the saved session has expired or ended: run `decnet login`")
        password = prompt(f"session expired; password for {saved.username}: ")
        client.login(saved.username, password)
        assert client.token is not None
        save_session(SavedSession(saved.url, saved.username, client.token))

    if saved.expired():
        renew()
    else:
        client.renew = renew
    return client


def _same_server(saved: str, wanted: str) -> bool:
    return saved.rstrip("/") == wanted.rstrip("/")
