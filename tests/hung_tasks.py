"""What each asyncio task of a hung test is waiting for, written before the test is ended.

pytest-timeout ends a test past its time by ending the process (its thread method), and
faulthandler (`faulthandler_timeout`) prints every thread's stack first. For an async test
that is no help: its thread sits in the event loop's `select`, and what hangs is a task
awaiting something that never comes. So a watchdog thread, at `REPORT_AFTER` seconds
into a test, asks every running event loop to print its tasks' stacks to the stderr the
run started with (pytest's capture would otherwise swallow them when the worker dies).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Generator
from typing import TextIO

import pytest

REPORT_AFTER = 100.0
"""Seconds into a test (setup and teardown included) by default: under the 120 s timeout.
The `hung_tasks_after` ini option changes it."""


class _Watchdog:
    """One thread per test process, watching whichever test is running."""

    def __init__(self, out: TextIO, after: float) -> None:
        self._out = out
        self._after = after
        self._lock = threading.Lock()
        self._test: str | None = None
        self._deadline = 0.0
        self._changed = threading.Event()
        threading.Thread(target=self._watch, name="hung-tasks", daemon=True).start()

    def begin(self, test: str) -> None:
        with self._lock:
            self._test, self._deadline = test, time.monotonic() + self._after
        self._changed.set()

    def end(self) -> None:
        with self._lock:
            self._test = None
        self._changed.set()

    def _watch(self) -> None:
        while True:
            with self._lock:
                test, deadline = self._test, self._deadline
            wait = None if test is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                self._report(test)
                wait = None  # once per test: until the next one begins
                with self._lock:
                    if self._test == test:
                        self._test = None
            self._changed.wait(wait)
            self._changed.clear()

    def _report(self, test: str | None) -> None:
        loops = [
            o
            for o in gc.get_objects()
            if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()
        ]
        self._out.write(f"\n==== {test}: {self._after:g} s and not done; its tasks:\n")
        self._out.flush()
        for loop in loops:
            loop.call_soon_threadsafe(self._print_tasks, loop)

    def _print_tasks(self, loop: asyncio.AbstractEventLoop) -> None:
        for task in asyncio.all_tasks(loop):
            self._out.write(f"---- {task!r}\n")
            task.print_stack(limit=30, file=self._out)
        self._out.flush()


_watchdog: _Watchdog | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "hung_tasks_after",
        "seconds into a test before its asyncio tasks' stacks are written to stderr",
        default=str(REPORT_AFTER),
    )


def pytest_configure(config: pytest.Config) -> None:
    global _watchdog
    # A copy of stderr as it is now, before pytest's capture replaces file descriptor 2.
    out = os.fdopen(os.dup(2), "w", encoding="utf-8", errors="replace")
    _watchdog = _Watchdog(out, float(config.getini("hung_tasks_after")))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    if _watchdog is not None:
        _watchdog.begin(item.nodeid)
    try:
        return (yield)
    finally:
        if _watchdog is not None:
            _watchdog.end()
