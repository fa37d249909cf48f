"""The runner of background loops: restarts what fails, shows it, stops in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from shared.database import create_engine
from shared.http.health import readiness
from shared.runner import Backoff, Runner

NO_WAIT = Backoff(first_seconds=0.0, most_seconds=0.0)


def _restarts(loop: str) -> float:
    return REGISTRY.get_sample_value("background_loop_restarts_total", {"loop": loop}) or 0.0


def test_the_wait_doubles_up_to_its_limit() -> None:
    backoff = Backoff(first_seconds=0.5, most_seconds=4.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 60)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_a_failing_loop_is_started_again_and_its_failures_are_shown() -> None:
    restarted: asyncio.Queue[str] = asyncio.Queue()
    runner = Runner(NO_WAIT, on_restart=restarted.put_nowait)
    attempts = 0
    steady = asyncio.Event()

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise ConnectionError("the bus went away")
        steady.set()
        await asyncio.Event().wait()

    before = _restarts("flaky")
    runner.start("flaky", flaky)
    assert await restarted.get() == "flaky"
    assert await restarted.get() == "flaky"
    await steady.wait()

    assert attempts == 3
    assert runner.healthy
    health = runner.health()["flaky"]
    assert health["state"] == "running"
    assert health["restarts"] == 2
    assert health["last_error"] == "ConnectionError"
    assert _restarts("flaky") - before == 2
    await runner.stop()
    assert runner.health()["flaky"]["state"] == "stopped"


async def test_a_loop_that_ends_unasked_is_started_again() -> None:
    restarted: asyncio.Queue[str] = asyncio.Queue()
    runner = Runner(NO_WAIT, on_restart=restarted.put_nowait)
    runs = 0
    second = asyncio.Event()

    async def returns_once() -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            second.set()
            await asyncio.Event().wait()

    runner.start("quitter", returns_once)
    assert await restarted.get() == "quitter"
    await second.wait()
    assert runner.health()["quitter"]["last_error"] == "LoopEnded"
    await runner.stop()


async def test_a_loop_waiting_to_restart_is_not_healthy() -> None:
    failed = asyncio.Event()
    runner = Runner(Backoff(first_seconds=3600.0), on_restart=lambda _: failed.set())

    async def broken() -> None:
        raise RuntimeError("no")

    runner.start("broken", broken)
    await failed.wait()
    assert not runner.healthy
    assert runner.health()["broken"]["state"] == "restarting"
    await runner.stop()  # cancels the wait: stopping never waits out a backoff


async def test_a_loop_that_ran_long_enough_starts_again_without_its_old_backoff() -> None:
    now = [0.0]
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    runner = Runner(
        Backoff(first_seconds=1.0, most_seconds=3600.0, stable_seconds=60.0),
        monotonic=lambda: now[0],
        sleep=no_sleep,
    )
    attempts = 0
    resumed = asyncio.Event()

    async def long_runner() -> None:
        nonlocal attempts
        attempts += 1
        if attempts in (1, 2):
            raise RuntimeError("quick failures: the wait doubles")
        if attempts == 3:
            now[0] += 120.0  # ran two minutes before failing: the count starts again
            raise RuntimeError("a failure after a stable run")
        resumed.set()
        await asyncio.Event().wait()

    runner.start("steady", long_runner)
    await resumed.wait()
    assert waits == [1.0, 2.0, 1.0]
    assert runner.health()["steady"]["restarts"] == 3
    await runner.stop()


async def test_loops_stop_in_the_reverse_order_of_their_start() -> None:
    stopped: list[str] = []
    runner = Runner(NO_WAIT)
    started = [asyncio.Event(), asyncio.Event(), asyncio.Event()]

    def loop(name: str, up: asyncio.Event) -> object:
        async def work() -> None:
            up.set()
            try:
                await asyncio.Event().wait()
            finally:
                stopped.append(name)

        return work

    for name, up in zip(("consumer", "publisher", "sender"), started, strict=True):
        runner.start(name, loop(name, up))  # type: ignore[arg-type]
    for up in started:
        await up.wait()
    await runner.stop()
    assert stopped == ["sender", "publisher", "consumer"]


async def test_one_name_runs_once() -> None:
    runner = Runner(NO_WAIT)

    async def idle() -> None:
        await asyncio.Event().wait()

    runner.start("relay", idle)
    with pytest.raises(ValueError, match="already running"):
        runner.start("relay", idle)
    await runner.stop()
    with pytest.raises(RuntimeError, match="stopping"):
        runner.start("late", idle)


async def test_readyz_shows_each_loop_and_says_degraded_while_one_restarts(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}")
    failed = asyncio.Event()
    runner = Runner(Backoff(first_seconds=3600.0), on_restart=lambda _: failed.set())

    async def idle() -> None:
        await asyncio.Event().wait()

    async def broken() -> None:
        raise OSError("down")

    runner.start("relay", idle)
    runner.start("scheduler", broken)
    await failed.wait()
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> object:
        return await readiness(engine, True, runner=runner)

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            body = (await client.get("/readyz")).json()
    finally:
        await runner.stop()
        await engine.dispose()
    assert body["status"] == "degraded"
    assert body["loops"]["relay"]["state"] == "running"
    assert body["loops"]["scheduler"] == {
        "state": "restarting",
        "restarts": 1,
        "last_error": "OSError",
        "last_failed_at": body["loops"]["scheduler"]["last_failed_at"],
    }
    assert body["loops"]["scheduler"]["last_failed_at"] is not None


async def test_a_loop_that_swallows_its_cancellation_still_lets_the_runner_stop() -> None:
    # A library that catches CancelledError (some connection retry loops do) keeps the
    # loop running; on its way it meets a runner that refuses new loops. Stopping must
    # end it rather than restart it forever.
    runner = Runner(NO_WAIT)
    waiting = asyncio.Event()

    async def stubborn() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # swallowed, as the library does
        runner.start("late-child", stubborn)  # refused: the runner is stopping

    runner.start("stubborn", stubborn)
    await waiting.wait()
    await asyncio.wait_for(runner.stop(), timeout=30)
    assert runner.health()["stubborn"]["state"] == "stopped"


async def test_a_loop_that_never_lets_go_does_not_hold_the_stop_forever() -> None:
    runner = Runner(NO_WAIT)
    waiting = asyncio.Event()
    release = asyncio.Event()

    async def clinging() -> None:
        waiting.set()
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # ignores every cancellation

    async def idle() -> None:
        await asyncio.Event().wait()

    runner.start("idle", idle)
    runner.start("clinging", clinging)
    await waiting.wait()
    await asyncio.wait_for(runner.stop(grace_seconds=0.05), timeout=30)
    health = runner.health()
    assert health["clinging"]["state"] == "running"  # left behind, and shown as such
    assert health["idle"]["state"] == "stopped"  # the loops after it still stopped
    release.set()
    (left,) = [task for task in asyncio.all_tasks() if task.get_name() == "clinging"]
    left.cancel()  # with `release` set, this cancellation ends it
    await asyncio.wait({left}, timeout=30)
    assert left.done()
