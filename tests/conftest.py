"""Shared fixtures: the anyio backend for async tests."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio (the backend agentkit users run)."""
    return "asyncio"
