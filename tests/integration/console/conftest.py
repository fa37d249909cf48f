"""Fixtures of the console's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.console.support import ConsoleStack, running_console


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[ConsoleStack]:
    """The console over an in-process dispatch on a fresh database."""
    async with running_console(database_url) as running:
        yield running
