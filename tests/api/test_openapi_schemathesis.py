"""Schemathesis over every operation of a real `decnet serve`, all checks on, bounded examples.

Not in the gate yet (marker `schemathesis`): some operations still fail (bodies whose rules the
document does not state yet). Run: `.venv/bin/pytest -m schemathesis tests/api/test_openapi_*`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import activate_admin
from tests.api.harness import BOOTSTRAP_ADMIN, Backend, DecnetServer, fresh_source_ip, scratch_dir

pytestmark = pytest.mark.schemathesis
MAX_EXAMPLES = 5  # per operation and phase: the whole run stays within ~3 minutes on 2 cores


@pytest.fixture(scope="module")
def fuzzed_server() -> Iterator[DecnetServer]:
    """A production-mode server of its own: the run creates users and changes settings."""
    with scratch_dir("schemathesis") as data_dir, Backend("embedded").server(data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def admin(fuzzed_server: DecnetServer) -> str:
    return activate_admin(fuzzed_server)


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: DecnetServer) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_server.base_url}/schema/openapi.json")


# The two SSE routes are left out: a stream that is accepted never ends, so no response is ever
# complete to check. tests/api/test_stream_api.py and test_sse_ticket_api.py cover them.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex="/stream$")


def fresh_token(server: DecnetServer) -> str:
    """A token of its own for a case that ends its session (logout, password change)."""
    with server.client(source_ip=fresh_source_ip()) as api:
        return api.token(BOOTSTRAP_ADMIN, server.admin_password)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(
    case: schemathesis.Case, fuzzed_server: DecnetServer, admin: str
) -> None:
    """Every response conforms to the document: status, content type, headers and schema."""
    token = admin
    if case.path in ("/api/v1/auth/logout", "/api/v1/auth/change-password"):
        token = fresh_token(fuzzed_server)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
