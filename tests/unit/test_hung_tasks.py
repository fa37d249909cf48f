"""A hung async test's tasks are reported, with the line each awaits, before it is ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

HANGING = """
import asyncio

import pytest


async def wait_for_nothing() -> None:
    await asyncio.Event().wait()


@pytest.mark.timeout(4)
async def test_hangs() -> None:
    await asyncio.gather(wait_for_nothing(), asyncio.sleep(30))
"""


def test_a_hung_async_test_reports_what_each_task_awaits(tmp_path: Path) -> None:
    (tmp_path / "test_hanging.py").write_text(HANGING)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.hung_tasks", "-p", "no:randomly",
         "-o", "asyncio_mode=auto", "-o", "hung_tasks_after=1", "-o", "timeout_method=thread",
         "-q", str(tmp_path / "test_hanging.py")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    report = run.stderr + run.stdout
    assert run.returncode != 0
    assert "test_hanging.py::test_hangs: 1 s and not done; its tasks:" in report
    assert "await asyncio.Event().wait()" in report
    assert "in wait_for_nothing" in report
