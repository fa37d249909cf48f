"""The end-to-end tests' `wo up`, started as a user starts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.docs_session import link_checkout
from tests.e2e.wo_up_support import WoUp, ports_held, running_wo_up


@pytest.fixture
def wo_up(tmp_path: Path) -> Iterator[WoUp]:
    """`wo up --var-dir <tmp>/var` run from a stand-in for the repository root, with the
    embedded NATS and SQLite, and 127.0.0.1:8000 held by someone else, so dispatch must
    fall back to a free port."""
    with ports_held([8000]), running_wo_up(link_checkout(tmp_path)) as running:
        yield running
