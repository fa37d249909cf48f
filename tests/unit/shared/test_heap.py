"""`heap.settle` freezes what start-up loaded and makes young collections rarer;
`heap.growing` freezes a bulk job's growing state step by step and hands it back at the end."""

from __future__ import annotations

import subprocess
import sys

from shared import heap

CHECK = """
import gc
from shared import heap
before = gc.get_freeze_count()
heap.settle()
print(before, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_settle_freezes_the_loaded_heap_and_raises_the_young_threshold() -> None:
    # In a child process: freezing the test runner's own heap would outlive the test.
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    ).stdout.split()
    before, frozen, threshold = (int(n) for n in out)

    assert before == 0
    assert frozen > before
    assert threshold == heap.YOUNG_THRESHOLD


GROWING = """
import gc
from shared import heap
kept = []
with heap.growing() as keep:
    kept.append([[] for _ in range(1000)])  # lists: objects the collector tracks
    keep()
    during = gc.get_freeze_count()
print(during, gc.get_freeze_count())
"""


def test_growing_keeps_each_step_out_of_the_collectors_sight_until_the_job_ends() -> None:
    out = subprocess.run(
        [sys.executable, "-c", GROWING], capture_output=True, text=True, check=True
    ).stdout.split()
    during, after = (int(n) for n in out)

    assert during >= 1000  # the step's objects (and what was alive before) are frozen
    assert after == 0
