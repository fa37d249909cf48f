"""`python -m bench.padded_dispatch`: dispatch as deployed, with every group commit's
transaction padded by `EXTRA_ROUND_TRIPS` statements that do nothing (`SELECT 1`), each
one more round trip to the database before the group's own statements.

For bench/round_trips.py: what one more statement in the writer's transaction costs a
loaded dispatch, so what fewer would gain. The statements it ran are counted in
`bench_padding_statements_total` on its `/metrics`, so the driver can see the padding
happened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.dispatch.__main__ import main
from services.dispatch.adapters import group_commit
from services.dispatch.adapters.append_plan import Outcome
from services.dispatch.service_layer.ports import AppendBatch

PADDING = Counter(
    "bench_padding_statements", "Statements added to group commits by bench.padded_dispatch"
)

Planned = list[tuple[AppendBatch, Outcome]]
Unit = Callable[
    [Connection, list[AppendBatch], Sequence[group_commit.PartOpener], datetime], Planned
]


def padded(unit: Unit, extra: int) -> Unit:
    """`unit` run after `extra` statements that do nothing, in its transaction."""

    def run(
        conn: Connection,
        batches: list[AppendBatch],
        openers: Sequence[group_commit.PartOpener],
        now: datetime,
    ) -> Planned:
        for _ in range(extra):
            conn.execute(_NOTHING)
        PADDING.inc(extra)
        return unit(conn, batches, openers, now)

    return run


_NOTHING = text("SELECT 1")


def install(extra: int) -> None:
    """Pad every group commit of this process from now on."""
    # Replacing the module's function is the point: the committer looks it up per group.
    group_commit._write_together = padded(group_commit._write_together, extra)  # type: ignore[assignment]


if __name__ == "__main__":
    install(int(os.environ.get("EXTRA_ROUND_TRIPS", "0")))
    main()
