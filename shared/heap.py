"""Garbage-collector settings for a long-running service process.

Profiled under load (bench/assign.py at 200 reports/s), the cyclic garbage collector took
about 1 ms of CPU per report, a fifth of the total: every full collection walked the
whole heap, most of it the modules, classes and schemas loaded at start-up, which live as
long as the process. `settle` moves everything alive at that moment out of the collector's
sight (`gc.freeze`) and makes the youngest generation's collections rarer, so each one
finds fewer survivors to walk. Objects are still freed by reference counting as before;
only cycles among the objects frozen at start-up would no longer be collected.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation (CPython's default: 700)."""


def settle() -> None:
    """Call once, when start-up has loaded what lives as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD)


@contextmanager
def growing() -> Iterator[Callable[[], None]]:
    """For a bulk job that builds what it holds until it ends (a rebuild's fold in memory).

    Each full collection walks every object alive, so a heap that grows by millions of
    objects makes the collector's work grow with it: profiled, a rebuild's replay spent a
    quarter of its CPU there. The job calls the function it is given after each step, which
    moves what is alive then out of the collector's sight (`gc.freeze`); on leaving, the
    collector sees them again (and any objects frozen before, as by `settle`).
    """
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
