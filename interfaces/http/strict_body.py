"""Request bodies are decoded strictly, once, for every route that takes one.

Litestar converts handler arguments with msgspec's lax mode (strings to numbers and so on) and
lets the last of two equal keys win; SPEC §2 wants a wrong JSON type to be a 400. This
`before_request` hook (it runs after the guards, so 401/403 still come first) checks the body
before Litestar decodes it for the handler:

- a declared media type other than JSON (`application/json`, `application/*+json`) is a 415;
- bytes that are not UTF-8, a NUL character in any string (PostgreSQL cannot store one), a
  key given twice in one object and nesting deeper than the decoder follows are 400s;
- the document must match the handler's `data` struct exactly (strict types, no unknown keys).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

TOO_DEEP = "Request body is nested too deeply"


class _RefusedDocumentError(ValueError):
    """A JSON document that parses but that no route accepts (duplicate key, NUL)."""


async def decode_strictly(request: Request[Any, Any, Any]) -> None:
    """Raise 415 or 400 when the body is not exactly the JSON the `data` struct describes."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return
    check_media_type(request.headers.get("content-type"))
    annotation = parameter.annotation
    if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
        return
    body = await request.body()
    text = utf8(body)
    # The strict decoder (C, stops at the first misfit) before the Python walk for duplicate
    # keys and NULs: that walk on an 8 MB array sent to the public login took 0.55 s of the
    # event loop per request, and two clients sending it held every other request ~0.35 s.
    # Once the document has the route's shape, the walk covers little more than its strings.
    try:
        msgspec.json.decode(body, type=annotation, strict=True)
    except msgspec.ValidationError as e:
        raise ValidationException(f"Invalid request body: {e}") from None
    except msgspec.DecodeError as e:
        raise ValidationException(f"Request body is not valid JSON: {e}") from None
    except RecursionError:
        raise ValidationException(TOO_DEEP) from None
    check_document(text)


def check_media_type(content_type: str | None) -> None:
    """415 unless the declared type is JSON (an absent header is taken as JSON)."""
    if content_type is None:
        return
    media = content_type.partition(";")[0].strip().lower()
    structured = media.startswith("application/") and media.endswith("+json")
    if media == "application/json" or structured:
        return
    raise HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"Content-Type must be application/json (got {media[:64]!r})",
    )


def utf8(body: bytes) -> str:
    """The body as text, or 400 naming the first byte that is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValidationException(f"Request body is not valid UTF-8 (byte {e.start})") from None


def check_document(text: str) -> None:
    """400 for a NUL in any string or key, or a duplicated key."""
    try:
        _check_value(json.loads(text, object_pairs_hook=_unique_object))
    except _RefusedDocumentError as e:
        raise ValidationException(f"Invalid request body: {e}") from None
    except RecursionError:
        # No body a route takes nests deeper than a few levels; the checks recurse per level.
        raise ValidationException(TOO_DEEP) from None
    except ValueError:
        return  # not JSON at all: the strict decoder names the syntax error


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _RefusedDocumentError(f"duplicate key {key[:64]!r}")
        _check_string(key)
        seen[key] = value
        _check_value(value)
    return seen


def _check_value(value: Any) -> None:
    """Strings directly in this value (nested objects were checked by their own hook)."""
    if isinstance(value, str):
        _check_string(value)
    elif isinstance(value, list):
        for item in value:
            _check_value(item)


def _check_string(value: str) -> None:
    if "\x00" in value:
        raise _RefusedDocumentError("strings must not contain NUL characters")
