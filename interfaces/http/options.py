"""`OPTIONS` answers `Allow` with every method of its path.

Litestar builds a path's automatic OPTIONS handler when the path's first handler is registered,
bound to that first route object; a second method on the same path (`GET` and `POST /views`)
makes a new route, but the handler still reads the old one's methods, so `Allow` left the
second method out. After the app is built, each such handler is bound to its final route.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def bind_options_to_routes(app: Litestar) -> None:
    """Point every automatic OPTIONS handler at the route it now serves."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.handler_name != "options_handler":
                continue
            for cell in handler.fn.__closure__ or ():
                if isinstance(cell.cell_contents, HTTPRoute):
                    cell.cell_contents = route
