"""Fixtures for the identity unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the application uses anyio threads on asyncio)."""
    return "asyncio"
