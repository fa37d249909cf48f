"""Stopping a service's background work in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from nats.aio.client import Client


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel every task, then wait for each to finish its cancellation."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def drain_quietly(client: Client | None) -> None:
    """Flush and close a NATS connection; one already gone is not an error at shutdown."""
    if client is not None:
        with contextlib.suppress(Exception):
            await client.drain()
