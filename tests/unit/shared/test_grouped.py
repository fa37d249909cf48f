"""`shared.grouped`: requests made together are served together, each told its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.grouped import Grouped, together_else_alone
from tests.swallowed import cancellation_swallowed


class Doubler:
    """Serves a group by doubling each number; refuses negatives one by one."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.down = False

    async def serve(self, group: list[int]) -> list[int | Exception]:
        self.groups.append(group)
        if self.down:
            raise ConnectionError("down")
        return [ValueError(n) if n < 0 else n * 2 for n in group]


async def test_requests_waiting_together_are_served_as_one_group() -> None:
    doubler = Doubler()
    grouped: Grouped[int, int] = Grouped(doubler.serve, max_group=10, name="t")

    answers = await asyncio.gather(*(grouped.submit(n) for n in range(5)))

    assert answers == [0, 2, 4, 6, 8]
    assert doubler.groups == [[0, 1, 2, 3, 4]]
    await grouped.close()


async def test_a_group_is_never_larger_than_max_group() -> None:
    doubler = Doubler()
    grouped: Grouped[int, int] = Grouped(doubler.serve, max_group=2, name="t")

    await asyncio.gather(*(grouped.submit(n) for n in range(5)))

    assert doubler.groups == [[0, 1], [2, 3], [4]]
    await grouped.close()


async def test_a_request_refused_fails_alone() -> None:
    grouped: Grouped[int, int] = Grouped(Doubler().serve, max_group=10, name="t")

    answers = await asyncio.gather(
        grouped.submit(1), grouped.submit(-1), grouped.submit(2), return_exceptions=True
    )

    assert answers[0] == 2 and answers[2] == 4
    assert isinstance(answers[1], ValueError)
    await grouped.close()


async def test_a_group_that_fails_as_one_fails_every_request_and_the_next_is_served() -> None:
    doubler = Doubler()
    grouped: Grouped[int, int] = Grouped(doubler.serve, max_group=10, name="t")
    doubler.down = True

    answers = await asyncio.gather(grouped.submit(1), grouped.submit(2), return_exceptions=True)
    doubler.down = False

    assert all(isinstance(a, ConnectionError) for a in answers)
    assert await grouped.submit(3) == 6
    await grouped.close()


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    gate = asyncio.Event()

    async def slow(group: list[int]) -> list[int | Exception]:
        await gate.wait()
        return [n for n in group]

    grouped: Grouped[int, int] = Grouped(slow, max_group=10, name="t")
    first = asyncio.create_task(grouped.submit(1))
    second = asyncio.create_task(grouped.submit(2))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()

    assert await second == 2
    with pytest.raises(asyncio.CancelledError):
        await first
    await grouped.close()


async def test_after_close_the_next_request_starts_a_new_task() -> None:
    grouped: Grouped[int, int] = Grouped(Doubler().serve, max_group=10, name="t")
    assert await grouped.submit(1) == 2
    await grouped.close()

    assert await grouped.submit(2) == 4
    grouped.cancel()


async def test_together_else_alone_writes_once_or_sorts_out_the_offender() -> None:
    writes: list[list[int]] = []

    async def write(group: list[int]) -> None:
        writes.append(group)
        if any(n < 0 for n in group):
            raise ValueError("refused")

    assert await together_else_alone(write, [1, 2], lambda _: True) == [None, None]
    outcomes = await together_else_alone(write, [1, -1, 2], lambda _: True)
    with pytest.raises(ValueError):
        await together_else_alone(write, [1, -1], lambda _: False)  # failed alike

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert writes == [[1, 2], [1, -1, 2], [1], [-1], [2], [1, -1]]


async def test_a_serve_that_answers_too_few_fails_every_caller_rather_than_leaving_them() -> None:
    async def short(group: list[int]) -> Sequence[int | Exception]:
        return group[:-1]

    grouped: Grouped[int, int] = Grouped(short, max_group=10, name="short")

    answers = await asyncio.gather(grouped.submit(1), grouped.submit(2), return_exceptions=True)

    assert all(isinstance(a, RuntimeError) for a in answers)
    await grouped.close()


async def test_close_ends_a_task_whose_cancellation_the_serve_swallowed() -> None:
    serving = asyncio.Event()

    async def swallowing(group: list[int]) -> list[int | Exception]:
        await cancellation_swallowed(serving)
        return list(group)

    grouped: Grouped[int, int] = Grouped(swallowing, max_group=10, name="t")
    caller = asyncio.create_task(grouped.submit(1))
    await serving.wait()
    closing = asyncio.create_task(grouped.close())
    done, _ = await asyncio.wait({closing}, timeout=5.0)

    assert closing in done, "close() waited for a task that never stopped"
    assert await caller == 1  # the group was served before the task stopped
