"""Every shell block of the README and docs/ runs, as pasted, against a real `wo up`.

One stack serves the whole module, started with its preferred ports (8000-8002, 4222)
held by someone else, so a command that hard-codes a port fails here. Each page runs in
one bash session: its blocks in order (the prelude first), under `set -euo pipefail`, so
a failing command, an undefined variable or an HTTP error a `curl --fail-with-body` did
not expect stops the page. A `# refused: <status> <code>` must show that problem. The
rules a block follows are in `tests/docs_blocks.py`; a block marked
`<!-- not-run: reason -->` is skipped.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_blocks import PAGES, ROOT, ShellBlock, runnable_blocks
from tests.e2e.wo_up_support import WoUp, ports_held, running_wo_up, user_environment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STACK_TIMEOUT = 150.0
BLOCK_TIMEOUT = 45.0
"""Seconds one block may take; the slowest start `wo` a few times (~2 s each)."""

PREFERRED_PORTS = [8000, 8001, 8002, 4222]
RUN_PAGES = [page for page in PAGES if runnable_blocks(page)]
_DONE = "@@docs-run block done@@"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for the repository root with its own `var/`: the docs run from the root."""
    root = tmp_path_factory.mktemp("checkout")
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name != "var":
            (root / entry.name).symlink_to(entry)
    (root / ".venv").symlink_to(Path(sys.prefix))
    return root


@pytest.fixture(scope="module")
def stack(workdir: Path) -> Iterator[WoUp]:
    with ports_held(PREFERRED_PORTS), running_wo_up(workdir) as running:
        running.wait_for_stack(STACK_TIMEOUT)
        yield running


def shell_environment() -> dict[str, str]:
    env = user_environment()
    # A proxy in the environment must not carry the loopback calls away.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_page(blocks: list[ShellBlock], workdir: Path, scripts: Path) -> list[str]:
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


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_block_of_the_page_runs_against_the_stack(
    page: Path, stack: WoUp, workdir: Path, tmp_path: Path
) -> None:
    urls = [service["url"] for service in stack.stack["services"].values()]
    moved = [url for url in urls if url.rsplit(":", 1)[1] in {"8000", "8001", "8002"}]
    assert not moved, f"the preferred ports are held: the stack must have moved, {urls}"
    blocks = runnable_blocks(page)
    if page == ROOT / "README.md":
        # A reader pastes the walkthrough again: it must work again (a fixed
        # Idempotency-Key made the second paste a row of 409s).
        blocks = blocks + blocks[1:]
    outputs = run_page(blocks, workdir, tmp_path / "blocks")
    for block, output in zip(blocks, outputs, strict=True):
        for status, code in block.refusals():
            # The problem details as the API writes them (compact JSON, one line).
            assert any(
                f'"status":{status}' in line and f'"code":"{code}"' in line
                for line in output.splitlines()
            ), f"{block.where}: expected the refusal {status} {code}; printed:\n{output}"
    # What a reader pastes prints no secret of the stack (the bus users' passwords).
    passwords = [user["password"] for user in stack.stack["nats"]["users"].values()]
    leaked = [
        b.where for b, out in zip(blocks, outputs, strict=True) if any(p in out for p in passwords)
    ]
    assert not leaked, f"a NATS password was printed by {leaked}"
    if page == ROOT / "README.md":
        walkthrough = "".join(outputs)
        assert '"status":"closed"' in walkthrough
        assert '"workorder.follow_up_recorded.v1"' in walkthrough
