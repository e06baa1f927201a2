"""The operator's web console: a static single-page app served at `/` (see ADR 0020)."""

from interfaces.http.console.routes import console_router

__all__ = ["console_router"]
