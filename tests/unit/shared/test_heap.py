"""`heap.settle` freezes what start-up loaded and makes young collections rarer."""

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
