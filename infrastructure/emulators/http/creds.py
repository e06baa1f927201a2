"""Credentials an HTTP request carries: a login form (urlencoded or JSON) or Basic auth."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

from infrastructure.emulators.http.parse import HttpRequest

# Field names real login forms use (WordPress `log`/`pwd`, generic `user`/`pass`, e-mail logins).
USERNAME_FIELDS = ("username", "user", "login", "log", "email", "uname", "userid")
PASSWORD_FIELDS = ("password", "pass", "passwd", "pwd", "pw")


def credential_fields(request: HttpRequest) -> dict[str, str]:
    """`username`/`password`/`auth_method` record fields, or {} when the request has none."""
    form = _form_fields(request)
    found = _pick(form)
    if found:
        return {**found, "auth_method": "form"}
    basic = basic_credentials(request.header("Authorization"))
    if basic:
        return {"username": basic[0], "password": basic[1], "auth_method": "basic"}
    return {}


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic …` header; None if absent or invalid."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _form_fields(request: HttpRequest) -> Mapping[str, object]:
    if request.method != "POST" or not request.body:
        return {}
    content_type = (request.header("Content-Type") or "").lower()
    text = request.body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # hostile input: malformed or absurdly nested
            return {}
        return parsed if isinstance(parsed, dict) else {}
    if "x-www-form-urlencoded" in content_type:
        return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
    return {}


def _pick(form: Mapping[str, object]) -> dict[str, str]:
    username = _first_text(form, USERNAME_FIELDS)
    password = _first_text(form, PASSWORD_FIELDS)
    if username is None or password is None:
        return {}
    return {"username": username, "password": password}


def _first_text(form: Mapping[str, object], names: tuple[str, ...]) -> str | None:
    lowered = {key.lower(): value for key, value in form.items() if isinstance(key, str)}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, str):
            return value
    return None
