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

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_blocks import PAGES, ROOT, runnable_blocks
from tests.e2e.docs_session import link_checkout, run_blocks
from tests.e2e.wo_up_support import STACK_TIMEOUT, WoUp, ports_held, running_wo_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PREFERRED_PORTS = [8000, 8001, 8002, 4222]
RUN_PAGES = [page for page in PAGES if runnable_blocks(page)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_checkout(tmp_path_factory.mktemp("checkout"))


@pytest.fixture(scope="module")
def stack(workdir: Path) -> Iterator[WoUp]:
    with ports_held(PREFERRED_PORTS), running_wo_up(workdir) as running:
        running.wait_for_stack(STACK_TIMEOUT)
        yield running


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
    outputs = run_blocks(blocks, workdir, tmp_path / "blocks")
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
