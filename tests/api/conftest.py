"""Real-server fixtures: one `decnet serve` per backend per session, plus servers on demand."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.api.harness import (
    BOOTSTRAP_ADMIN,
    BOOTSTRAP_PASSWORD,
    EXTERNAL_SKIP_REASON,
    PG_URL_ENV,
    Account,
    ApiClient,
    Backend,
    DecnetServer,
    fresh_source_ip,
    make_account,
    scratch_dir,
)

ADMIN_PASSWORD = "admin-chosen-pw-01"


@pytest.fixture(
    scope="session",
    params=["embedded", pytest.param("external", marks=pytest.mark.external_pg)],
)
def backend(request: pytest.FixtureRequest) -> Backend:
    """The embedded PostgreSQL, or the machine's one when DECNET_TEST_PG_URL is set."""
    if request.param == "embedded":
        return Backend("embedded")
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    return Backend("external", url)


@pytest.fixture(scope="session")
def server(backend: Backend) -> Iterator[DecnetServer]:
    """The shared production-mode server (real JWT secret, not developer mode)."""
    with scratch_dir(backend.name) as data_dir, backend.server(data_dir) as running:
        yield running


def first_admin_token(server: DecnetServer, attempts: int = 5) -> str:
    """The bootstrap admin's first login, retried while the users read model catches up.

    `decnet serve` answers HTTP before its projection runner has applied the bootstrap admin's
    registration (a product race), so a first login can briefly be a 401. The retries come from
    a loopback address of their own and stay well under the per-username throttle.
    """
    with server.client(source_ip=fresh_source_ip()) as api:
        for _ in range(attempts):
            response = api.login(BOOTSTRAP_ADMIN, BOOTSTRAP_PASSWORD)
            if response.status_code == 200:
                token: str = response.json()["access_token"]
                return token
            assert response.status_code == 401, response.text
            time.sleep(0.3)
    raise AssertionError(f"bootstrap admin cannot log in:\n{server.log_tail(80)}")


def activate_admin(server: DecnetServer) -> str:
    """Replace the bootstrap password (once per server); return an admin token."""
    with server.client() as api:
        if server.admin_password == BOOTSTRAP_PASSWORD:
            token = first_admin_token(server)
            response = api.change_password(token, BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
            assert response.status_code == 200, response.text
            server.admin_password = ADMIN_PASSWORD
        return api.token(BOOTSTRAP_ADMIN, server.admin_password)


@pytest.fixture(scope="session")
def admin_token(server: DecnetServer) -> str:
    """A token of the bootstrap admin after it changed its password."""
    return activate_admin(server)


@pytest.fixture
def api(server: DecnetServer) -> Iterator[ApiClient]:
    """A client of the shared server from 127.0.0.1."""
    with server.client() as client:
        yield client


@pytest.fixture
def stranger(server: DecnetServer) -> Iterator[ApiClient]:
    """A client from a loopback address of its own: its failed logins throttle nobody else."""
    with server.client(source_ip=fresh_source_ip()) as client:
        yield client


@pytest.fixture
def make_user(api: ApiClient, admin_token: str) -> Callable[..., Account]:
    """Create users on the shared server: `make_user("viewer", must_change=False)`."""

    def make(role: str = "viewer", must_change: bool = False) -> Account:
        return make_account(api, admin_token, role, must_change)

    return make


@pytest.fixture(scope="session")
def dev_server(backend: Backend) -> Iterator[DecnetServer]:
    """A developer-mode server (secret generated in its data dir), for routes that differ there."""
    with (
        scratch_dir(f"dev-{backend.name}") as data_dir,
        backend.server(data_dir, developer=True) as running,
    ):
        yield running


@pytest.fixture
def spawn_server(backend: Backend) -> Iterator[Callable[..., DecnetServer]]:
    """Start a dedicated server for one test; each is stopped (and checked) after it."""
    with ExitStack() as stack:

        def spawn(developer: bool = False, extra_env: dict[str, str] | None = None) -> DecnetServer:
            data_dir = stack.enter_context(scratch_dir(f"own-{backend.name}"))
            return stack.enter_context(backend.server(data_dir, developer, extra_env))

        yield spawn
