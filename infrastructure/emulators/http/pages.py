"""What the web emulator answers: a login portal, Apache-style error pages, raw responses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from email.utils import formatdate
from http import HTTPStatus

_LOGIN = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Sign in</title>
<style>body{{font-family:sans-serif;background:#f2f4f7}}form{{width:300px;margin:10% auto;\
background:#fff;padding:24px;border-radius:6px}}input{{width:100%;margin:6px 0;padding:8px}}\
.err{{color:#b00}}</style>
</head>
<body>
<form method="post" action="/login">
<h2>{title}</h2>
{error}<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<input type="submit" value="Sign in">
</form>
</body>
</html>
"""

_ERROR = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>{code} {phrase}</title>
</head><body>
<h1>{phrase}</h1>
<p>{detail}</p>
<hr>
</body></html>
"""

_DETAILS = {
    400: "Your browser sent a request that this server could not understand.",
    401: "This server could not verify that you are authorized to access the document requested.",
    404: "The requested URL was not found on this server.",
}

HTML_TYPE = "text/html; charset=UTF-8"


def login_page(hostname: str, *, failed: bool = False) -> bytes:
    """The fake sign-in portal, with an error line after a failed attempt."""
    error = '<p class="err">Invalid username or password.</p>\n' if failed else ""
    return _LOGIN.format(title=html.escape(hostname), error=error).encode()


def error_page(code: int) -> bytes:
    """An Apache-style error document for `code`."""
    phrase = reason(code)
    detail = _DETAILS.get(code, "The server encountered an error.")
    return _ERROR.format(code=code, phrase=phrase, detail=detail).encode()


def reason(code: int) -> str:
    """The standard reason phrase (a plausible one for codes the stdlib does not know)."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def render(
    code: int,
    body: bytes,
    *,
    server: str,
    keep_alive: bool,
    head_only: bool = False,
    content_type: str = HTML_TYPE,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A complete HTTP/1.1 response."""
    headers = [("Date", formatdate(usegmt=True))]
    if server:
        headers.append(("Server", server))
    headers += [*extra, ("Content-Length", str(len(body)))]
    if keep_alive:
        headers += [("Keep-Alive", "timeout=5, max=100"), ("Connection", "Keep-Alive")]
    else:
        headers.append(("Connection", "close"))
    headers.append(("Content-Type", content_type))
    lines = [f"HTTP/1.1 {code} {reason(code)}", *(f"{k}: {v}" for k, v in headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + body
