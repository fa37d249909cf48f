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

YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation (CPython's default: 700)."""


def settle() -> None:
    """Call once, when start-up has loaded what lives as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD)
