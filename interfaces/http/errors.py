"""The one table mapping failures to SPEC §2 status codes, with `{"detail": ...}` bodies."""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.shared.errors import (
    AuthenticationError,
    ConflictError,
    DecnetError,
    ForbiddenError,
    InvalidError,
    MalformedError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from infrastructure.disk_full import is_disk_full
from interfaces.http.head import allowing_head
from interfaces.http.params import given

log = structlog.get_logger()

# Each family of the one error tree, once.
STATUS_BY_FAMILY: tuple[tuple[type[DecnetError], int], ...] = (
    (MalformedError, 400),
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidError, 422),
    (RateLimitedError, 429),
    (UnavailableError, 503),
)
UNAVAILABLE = (psycopg.OperationalError, PoolTimeout, StoreOperationalError, StoreInterfaceError)
# The Redis adapters say which shared state is missing (UnavailableError); anything that still
# reaches here unwrapped is the same outage, never a 500.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _body(detail: Any, status: int, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response({"detail": detail}, status_code=status, headers=headers)


def status_for(exc: Exception) -> int:
    """The HTTP status of a domain or application error."""
    for cls, status in STATUS_BY_FAMILY:
        if isinstance(exc, cls):
            return status
    return HTTP_500_INTERNAL_SERVER_ERROR


def domain_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return _body(str(exc), status, headers)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if "allow" in headers:  # a 405 names the methods of its path
        headers["allow"] = allowing_head(headers["allow"])
    detail: Any = exc.detail
    if isinstance(exc, ValidationException) and exc.extra:
        detail = f"{exc.detail}: {_describe(exc.extra)}"
    return _body(detail, exc.status_code, headers)


def unavailable_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database_unavailable", error=type(exc).__name__)
    return _body("database unavailable", 503)


def redis_unavailable_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("redis_unavailable", error=type(exc).__name__)
    return _body("shared live state unavailable: Redis unreachable", 503)


def unexpected_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Never a stack trace in the body; the log has the event with the request id bound.
    log.error("unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return _body("Internal server error", HTTP_500_INTERNAL_SERVER_ERROR)


def storage_full_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A write the disk refused (a full temporary directory while building an evidence bundle):
    507 with the reason, which the operator can fix; any other OSError is a bug (500)."""
    if isinstance(exc, OSError) and is_disk_full(exc):
        log.error("storage_full", path=request.url.path, error=str(exc))
        return _body(f"insufficient storage: {exc.strerror}", 507)
    return unexpected_handler(request, exc)


def vanished_table_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A read of a view whose schema was dropped after `?view=` was checked: the 404 the same
    request gets a moment later. Without a view, a missing table is a bug (500)."""
    label = given(request.query_params.get("view"))
    if label is None:
        return unexpected_handler(request, exc)
    log.info("view_dropped_during_read", view=label[:48], path=request.url.path)
    return _body(f"no view labelled {label[:48]!r}", 404)


def _describe(extra: Any) -> str:
    if isinstance(extra, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in extra)
    return str(extra)


def exception_handlers() -> dict[Any, Any]:
    """Handlers keyed by exception class: the error tree's root, HTTP errors, outages, the rest."""
    handlers: dict[Any, Any] = {
        DecnetError: domain_error_handler,
        HTTPException: http_error_handler,
        psycopg.errors.UndefinedTable: vanished_table_handler,
        OSError: storage_full_handler,
        Exception: unexpected_handler,
    }
    for cls in UNAVAILABLE:
        handlers[cls] = unavailable_handler
    for redis_error in REDIS_UNAVAILABLE:
        handlers[redis_error] = redis_unavailable_handler
    return handlers
