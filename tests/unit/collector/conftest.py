"""Async collector tests run on asyncio (the collector is asyncio code)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The collector's listeners and group commit use asyncio directly."""
    return "asyncio"
