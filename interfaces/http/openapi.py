"""What the OpenAPI document says each route can answer besides its success, in one place.

Every failure body is `{"detail": "..."}` (`errors.py`), documented once as `ErrorResponse`.
Which statuses a route can answer follows from what it is, so it is derived here rather than
repeated on 37 decorators; a route adds its own (409, 429, ...) with `opt={ANSWERS: (...)}`:

- every route can answer 503 (the database is unreachable: `errors.unavailable_handler`; or, in
  the split topology, the Redis a login, ticket, stream or revocation check needs);
- a route behind the bearer middleware answers 401 (no or bad token) and 403 (a guard, or a
  pending password change);
- a route with a JSON body answers 400 (not JSON, wrong types, unknown or duplicate keys, NUL),
  413 (larger than Litestar's body limit), 415 (not declared as JSON) and 422 (a bad value);
- a route with path or query parameters answers 422 for a value out of its bounds or pattern
  (and 400 for a query string that cannot be decoded);
  a path names something, so 404 when it does not exist;
- `view` reads an as-of view: 404 unknown, 409 not ready yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.routes import HTTPRoute

from interfaces.http.auth import PUBLIC

ANSWERS = "answers"  # route opt: statuses the route answers beyond the derived ones
# Route opt: query parameters that must be given. They stay optional in the signature so a
# missing one is SPEC's 422 naming it (Litestar would answer 400), but the document says so.
REQUIRED_QUERY = "required_query"
NOT_PARAMETERS = frozenset({"request", "data", "state", "headers", "cookies", "scope", "socket"})

DESCRIPTIONS = {
    400: "Malformed request: the body is not JSON, has the wrong types, or unknown, duplicate"
    " or NUL-bearing keys",
    401: "No, invalid, expired or revoked bearer token (`WWW-Authenticate: Bearer`)",
    403: "The role may not do this, or the password must be changed first",
    404: "Nothing with that name or id",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "The body is not declared as `application/json`",
    422: "A value is out of its bounds, pattern or set",
    429: "Too many attempts (logins), or too many live streams open for this user;"
    " `Retry-After` says when to try again",
    503: "A dependency is unreachable (the database; Redis for logins, tickets and streams in"
    " the split topology); `detail` says which; try again",
}


class ErrorResponse(msgspec.Struct):
    """Every 4xx and 5xx body."""

    detail: str


def _error(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ErrorResponse, description=DESCRIPTIONS[status], generate_examples=False
    )


def answers(handler: HTTPRouteHandler, path_parameters: Iterable[str]) -> set[int]:
    """The failure statuses `handler` can answer."""
    found = {503, *handler.opt.get(ANSWERS, ())}
    if not handler.opt.get(PUBLIC) and not handler.opt.get("exclude_from_auth"):
        found |= {401, 403}
    parameters = set(handler.parsed_fn_signature.parameters) - NOT_PARAMETERS
    if "data" in handler.parsed_fn_signature.parameters:
        found |= {400, 413, 415, 422}
    if set(path_parameters):
        found |= {404, 422}
    if parameters:
        found |= {400, 422}  # 400: a query string that cannot be decoded
    if "view" in parameters:
        found |= {404, 409}
    return found


def _documented(app: Litestar) -> Iterator[tuple[HTTPRoute, HTTPRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.resolve_include_in_schema():
                    yield route, handler


def _close_request_bodies(app: Litestar, schemas: dict[str, Any]) -> None:
    """Bodies that refuse unknown keys (400) say so: `additionalProperties: false`."""
    for _, handler in _documented(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        body = data.annotation if data else None
        if not (isinstance(body, type) and issubclass(body, msgspec.Struct)):
            continue
        if not body.__struct_config__.forbid_unknown_fields:
            continue
        for key, schema in schemas.items():
            if key == body.__name__ or key.endswith(f"_{body.__name__}"):
                schema.additional_properties = False


def document_api(app: Litestar) -> None:
    """Failure responses for every operation; public operations marked as needing no token.

    Litestar layers the router's `security` onto every handler (an empty list on a handler
    cannot remove it), so the built document is corrected once here, before it is served.
    """
    for route, handler in _documented(app):
        declared: dict[int, Any] = dict(handler.responses or {})
        for status in sorted(answers(handler, route.path_parameters)):
            declared.setdefault(status, _error(status))
        handler.responses = declared
    document = app.openapi_schema
    _close_request_bodies(app, document.components.schemas or {})
    paths = document.paths or {}
    for route, handler in _documented(app):
        for method in handler.http_methods:
            operation = getattr(paths.get(route.path_format), method.lower(), None)
            for parameter in (operation.parameters or []) if operation else []:
                if isinstance(parameter, OpenAPIParameter) and parameter.name in handler.opt.get(
                    REQUIRED_QUERY, ()
                ):
                    parameter.required = True
    for route, handler in _documented(app):
        if not handler.opt.get(PUBLIC) or route.path_format not in paths:
            continue
        for method in handler.http_methods:
            operation = getattr(paths[route.path_format], method.lower(), None)
            if operation is not None:
                operation.security = []


def documented(**schema: Any) -> msgspec.Meta:
    """A body field's rule as the OpenAPI document states it, checked by the handler (422).

    msgspec would enforce a `Meta` constraint while decoding, which is a 400; SPEC §2 wants a
    well-typed value that breaks a rule to be a 422 naming it, so the rule is only documented.
    Keys are OpenAPI `Schema` attributes (`minimum`, `pattern`, `enum`, `any_of`, ...).
    """
    return msgspec.Meta(extra_json_schema={"extra": schema})


def _duration_pattern() -> str:
    """`<n><unit>` from 1 minute up to 100 years (`durations.MAX_MINUTES`), exactly."""
    minutes = (
        r"(?:[1-9][0-9]{0,6}|[1-4][0-9]{7}|5[01][0-9]{6}|52[0-4][0-9]{5}|525[0-5][0-9]{4}"
        r"|52560000)m"
    )
    days = r"(?:[1-9][0-9]{0,3}|[12][0-9]{4}|3[0-5][0-9]{3}|36[0-4][0-9]{2}|36500)d"
    months = r"(?:[1-9][0-9]{0,2}|1[01][0-9]{2}|120[0-9]|121[0-6])M"
    years = r"(?:[1-9][0-9]?|100)[yY]"
    return f"^(?:{minutes}|{days}|{months}|{years})$"


DURATION_PATTERN = _duration_pattern()


def raw_answer(body: type, media_type: str, description: str) -> dict[int, ResponseSpec]:
    """The success of a route that answers `media_type` text or bytes, not a JSON document."""
    return {
        200: ResponseSpec(
            body, media_type=media_type, description=description, generate_examples=False
        )
    }


# `GET /stream` and `GET /events/stream`: frames as SSE text.
SSE_ANSWER = raw_answer(
    str,
    "text/event-stream",
    "Server-sent events until the session ends (`data:` JSON, `id:` resumable)",
)
