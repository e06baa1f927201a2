"""The error table: a view dropped while a read of it runs is a 404 like any unknown view."""

from __future__ import annotations

import psycopg.errors
from litestar import Litestar, get
from litestar.testing import TestClient

from interfaces.http.errors import exception_handlers


@get("/read", sync_to_thread=False)
def read_a_table() -> None:
    """Fails as a read does when its table is gone (a view's schema dropped under it)."""
    raise psycopg.errors.UndefinedTable('relation "decnet_view_gone.logs" does not exist')


def client() -> TestClient[Litestar]:
    return TestClient(Litestar([read_a_table], exception_handlers=exception_handlers()))


def test_a_view_dropped_during_the_read_is_404() -> None:
    """The check found the view ready, the drop won the race: the reader sees it gone."""
    with client() as http:
        response = http.get("/read", params={"view": "gone"})
    assert response.status_code == 404
    assert response.json() == {"detail": "no view labelled 'gone'"}


def test_a_missing_live_table_is_still_a_server_error() -> None:
    """Without a view, a missing table is a bug, not the caller's mistake."""
    with client() as http:
        response = http.get("/read")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
