"""Stopping a service's background work in order, and waiting in it so that it can stop."""

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


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` is set within `seconds`.

    A background loop's wait between rounds. Not `asyncio.wait_for`: on Python 3.11 a task
    cancelled in the very step its event is set gets the event's result instead of the
    cancellation, and runs on (a relay woken by a commit while its service was stopping
    never stopped); `asyncio.timeout` keeps the cancellation. A cancellation that a
    library swallowed the same way during the round (SQLAlchemy's pool waits for a
    connection with `wait_for`) still shows in `Task.cancelling()`: it ends the loop here.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def drain_quietly(client: Client | None) -> None:
    """Flush and close a NATS connection; one already gone is not an error at shutdown."""
    if client is not None:
        with contextlib.suppress(Exception):
            await client.drain()
