"""A reader's shell session: the docs' blocks run, as pasted, from the repository root."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.docs_blocks import ROOT, ShellBlock, runnable_blocks
from tests.e2e.wo_up_support import user_environment

BLOCK_TIMEOUT = 45.0
"""Seconds one block may take; the slowest start `wo` a few times (~2 s each)."""

_DONE = "@@docs-run block done@@"


def link_checkout(workdir: Path) -> Path:
    """Make `workdir` a stand-in for the repository root (its files linked, `.venv` this
    interpreter's) with a `var/` of its own: the docs' commands run from the root."""
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name != "var":
            (workdir / entry.name).symlink_to(entry)
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    return workdir


def shell_environment() -> dict[str, str]:
    env = user_environment()
    # A proxy in the environment must not carry the loopback calls away.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_blocks(blocks: list[ShellBlock], workdir: Path, scripts: Path) -> list[str]:
    """Run `blocks` in order in one bash session; what each printed. Fails the test on the
    first block that fails or outlasts its timeout."""
    scripts.mkdir(parents=True, exist_ok=True)
    lines = ["set -euo pipefail", "exec </dev/null"]
    for number, block in enumerate(blocks):
        script = scripts / f"block-{number}.sh"
        script.write_text(block.text, encoding="utf-8")
        lines += [f"source {script}", f"printf '\\n{_DONE}\\n'"]
    process = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(lines)],
        cwd=workdir,
        env=shell_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines_out: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            lines_out.put(raw.decode("utf-8", errors="replace"))
        lines_out.put(None)

    threading.Thread(target=read, daemon=True).start()
    outputs: list[str] = []
    current: list[str] = []
    deadline = time.monotonic() + BLOCK_TIMEOUT
    try:
        while True:
            try:
                line = lines_out.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                block = blocks[len(outputs)]
                pytest.fail(
                    f"{block.where}: no end within {BLOCK_TIMEOUT:g} s\n{block.text}\n"
                    f"--- output\n{''.join(current)}"
                )
            if line is None:
                break
            if line.strip() == _DONE:
                outputs.append("".join(current))
                current = []
                deadline = time.monotonic() + BLOCK_TIMEOUT
            else:
                current.append(line)
        code = process.wait(BLOCK_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if code != 0 or len(outputs) < len(blocks):
        block = blocks[min(len(outputs), len(blocks) - 1)]
        pytest.fail(
            f"{block.where}: exited with {code}\n{block.text}\n--- output\n{''.join(current)}"
        )
    return outputs


def run_readme_walkthrough(workdir: Path, scripts: Path) -> str:
    """The README's prelude and curl walkthrough, run against the stack of `workdir`."""
    prelude, walkthrough = runnable_blocks(ROOT / "README.md")[:2]
    return "".join(run_blocks([prelude, walkthrough], workdir, scripts))
