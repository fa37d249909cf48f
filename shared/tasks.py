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
    never stopped); `asyncio.timeout` keeps the cancellation. A cancellation a library
    swallowed during the round ends the loop here too (`stop_if_cancelled`).
    """
    stop_if_cancelled()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def stop_if_cancelled() -> None:
    """End a background loop at its wait between rounds if its task was cancelled during
    the round and a library swallowed that cancellation (`asyncio.wait_for` on Python
    3.11 hands back a result that came in the same step; SQLAlchemy's pool waits for a
    connection with it): `Task.cancelling()` still shows it. Without this the loop runs
    on, and whoever stopped it waits forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def drain_quietly(client: Client | None) -> None:
    """Flush and close a NATS connection; one already gone is not an error at shutdown."""
    if client is not None:
        with contextlib.suppress(Exception):
            await client.drain()
