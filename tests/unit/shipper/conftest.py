"""The shipper is asyncio code."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The shipper's sockets and events are asyncio's."""
    return "asyncio"
