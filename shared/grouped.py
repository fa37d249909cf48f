"""Requests made at the same moment, served together by one task.

A command's append, a dispatch decision's workload read and an answer's access-log
entry each cost a transaction if served alone: a connection, BEGIN, the statement,
COMMIT, each waiting its turn on a busy event loop (and, on SQLite, for the single
writer). Served by one task that takes every request waiting, N requests cost one
transaction. Each caller still waits for its own request's outcome, so nothing is
answered before its effect is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.tasks import stop_if_cancelled

T = TypeVar("T")
R = TypeVar("R")

Serve = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]
"""Serves a group: one outcome per request, in order (an exception fails that request)."""


async def next_group(queue: asyncio.Queue[T], max_group: int) -> list[T]:
    """Wait for the first item, then take every item already queued (up to `max_group`)."""
    group = [await queue.get()]
    while len(group) < max_group and not queue.empty():
        group.append(queue.get_nowait())
    return group


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    request: T
    outcome: asyncio.Future[R]


class Grouped(Generic[T, R]):
    """One task serving the requests waiting, up to `max_group` at a time, with `serve`.

    If `serve` raises, every request of its group fails with that error. The task starts
    with the first request (and again after `close`)."""

    def __init__(self, serve: Serve[T, R], *, max_group: int, name: str) -> None:
        self._serve = serve
        self._max_group = max_group
        self._name = name
        self._queue: asyncio.Queue[_Waiting[T, R]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, request: T) -> R:
        """Queue `request` for the next group and wait for its outcome."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self._name)
        outcome: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Waiting(request, outcome))
        return await outcome

    def cancel(self) -> None:
        """Stop the task; requests still waiting are cancelled with their callers."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def close(self) -> None:
        """Stop the task and wait until it has stopped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            stop_if_cancelled()
            group = await next_group(self._queue, self._max_group)
            try:
                outcomes: Sequence[R | Exception] = await self._serve([w.request for w in group])
                if len(outcomes) != len(group):  # a bug; no caller may be left waiting
                    raise RuntimeError(
                        f"{self._name} answered {len(outcomes)} of {len(group)} requests"
                    )
            except Exception as exc:  # the group failed as one: every request with it
                outcomes = [exc] * len(group)
            for waiting, outcome in zip(group, outcomes, strict=True):
                if waiting.outcome.done():  # its caller was cancelled (the client went away)
                    continue
                if isinstance(outcome, Exception):
                    waiting.outcome.set_exception(outcome)
                else:
                    waiting.outcome.set_result(outcome)


async def together_else_alone(
    write: Callable[[list[T]], Awaitable[None]],
    group: list[T],
    worth_alone: Callable[[Exception], bool],
) -> list[Exception | None]:
    """Write `group` in one go; if the database refuses it with an error one request may
    have caused (`worth_alone`), write each request alone, so only that one fails."""
    try:
        await write(group)
    except Exception as exc:  # sorted out request by request, or failed alike
        if len(group) == 1 or not worth_alone(exc):
            raise
    else:
        return [None] * len(group)
    outcomes: list[Exception | None] = []
    for request in group:
        try:
            await write([request])
        except Exception as own:  # this request's own value was refused
            outcomes.append(own)
        else:
            outcomes.append(None)
    return outcomes
