"""`decnet login`: sign in once and save the session for the other client commands."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from interfaces.cli.api_client import ApiClient, ApiError
from interfaces.cli.session_file import SavedSession, save_session, token_expiry


def add_login_command(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `decnet login` (it shares --url/--user/--password with the client commands)."""
    commands.add_parser(
        "login",
        parents=[remote],
        help="sign in and save the session (0600, $XDG_CONFIG_HOME/decnet/token) for the CLI",
    )


def run_login(args: argparse.Namespace, prompt: Callable[[str], str] = getpass.getpass) -> int:
    """Log in (changing a password the server says must change), save the session; 0 or 1."""
    try:
        client = ApiClient(args.url)
        user = args.user or os.environ.get("DECNET_CLI_USER") or _ask("username: ", "admin")
        password = args.password or os.environ.get("DECNET_CLI_PASSWORD")
        if password is None:
            _need_terminal("a password (--password or DECNET_CLI_PASSWORD)")
            password = prompt(f"password for {user}: ")
        if client.login(user, password):
            password = _change_password(client, password, prompt)
            client.login(user, password)
        assert client.token is not None
        path = save_session(SavedSession(args.url, user, client.token))
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    print(f"Logged in as {user}{_until(client.token)}; session saved to {path}")
    return 0


def _change_password(client: ApiClient, old: str, prompt: Callable[[str], str]) -> str:
    _need_terminal("a new password (this account must change its password first)")
    new = prompt("this account must change its password; new password: ")
    if prompt("new password again: ") != new:
        raise ApiError(0, "the two new passwords differ")
    client.request("POST", "/auth/change-password", {"old_password": old, "new_password": new})
    return new


def _ask(question: str, default: str) -> str:
    if not sys.stdin.isatty():
        return default
    return input(question).strip() or default


def _need_terminal(what: str) -> None:
    if not sys.stdin.isatty():
        raise ApiError(0, f"not a terminal: cannot prompt for {what}")


def _until(token: str) -> str:
    expiry = token_expiry(token)
    if expiry is None:
        return ""
    return f" until {datetime.fromtimestamp(expiry, tz=UTC):%Y-%m-%d %H:%M:%S} UTC"
