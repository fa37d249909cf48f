"""A wait that loses its cancellation: what the tests of stopping background loops stand on."""

from __future__ import annotations

import asyncio
import contextlib


async def cancellation_swallowed(started: asyncio.Event) -> None:
    """Set `started`, then wait until cancelled and return as if nothing happened.

    As `asyncio.wait_for` does on Python 3.11 when its awaitable finishes in the step the
    cancellation comes (SQLAlchemy's pool waits for a connection with it): the caller sees
    a result, not the cancellation, and only `Task.cancelling()` still shows it."""
    started.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(60)
