"""`woken`: a background loop's wait between rounds, which a cancellation always ends."""

from __future__ import annotations

import asyncio

from shared.tasks import woken
from tests.swallowed import cancellation_swallowed


async def test_woken_says_whether_the_event_came_in_time() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)

    assert await woken(event, 5.0)
    assert not await woken(asyncio.Event(), 0.01)


async def test_a_loop_cancelled_in_the_step_its_event_is_set_stops() -> None:
    # asyncio.wait_for on Python 3.11 hands such a task the event instead of its
    # cancellation: the loop ran on, and a stopping service waited for it forever.
    wake = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            wake.clear()
            await woken(wake, 60.0)

    task = asyncio.create_task(loop())
    for _ in range(3):
        wake.set()
        await asyncio.sleep(0)
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5.0)

    assert task in done and task.cancelled()
    assert rounds >= 2


async def test_a_loop_whose_cancellation_a_library_swallowed_stops_at_its_next_wait() -> None:
    wake = asyncio.Event()
    in_round = asyncio.Event()

    async def loop() -> None:
        while True:
            await cancellation_swallowed(in_round)
            await woken(wake, 60.0)

    task = asyncio.create_task(loop())
    await in_round.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5.0)

    assert task in done and task.cancelled()
