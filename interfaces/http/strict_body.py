"""Request bodies are decoded strictly: `"20"` for an integer field is a 400, not a 20.

Litestar converts handler arguments with msgspec's lax mode (strings to numbers and so on); SPEC
§2 wants a wrong JSON type to be a 400. This `before_request` hook (it runs after the guards, so
401/403 still come first) re-decodes the body strictly against the handler's `data` type.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


async def decode_strictly(request: Request[Any, Any, Any]) -> None:
    """Raise 400 when the body does not match the `data` struct exactly."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return
    annotation = parameter.annotation
    if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
        return
    try:
        msgspec.json.decode(await request.body(), type=annotation, strict=True)
    except msgspec.ValidationError as e:
        raise ValidationException(f"Invalid request body: {e}") from None
    except msgspec.DecodeError as e:
        raise ValidationException(f"Request body is not valid JSON: {e}") from None
