"""The durable timer table (`sla_timers`), kept inline: each append that carries its
stream's timers replaces the ones the stream had.

The scheduler (`sla_scheduler`) claims and fires the rows; it is woken by `earliest`
when a commit writes a timer sooner than it sleeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.inline import Projection, Written
from services.dispatch.adapters.rows import timer_rows
from services.dispatch.service_layer.ports import AppendBatch, StreamTimers


class TimerTable(Projection):
    """The timer table's part in a group: replaces the timers of the streams written."""

    def __init__(self, conn: Connection, batches: Sequence[AppendBatch]) -> None:
        self._conn = conn

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """One delete of the streams' timers and one insert of their new ones; of several
        appends to one stream, the last one's set."""
        replaced: dict[str, list[dict[str, Any]]] = {}
        # A stream with an append at version 0 among those written was empty when the
        # group began: it has no rows to delete (a group of reports writes its timers
        # without the delete).
        new = {batch.stream_id for batch, _ in written if batch.expected_version == 0}
        for batch, _ in written:
            timers = batch.inline_of(StreamTimers)
            if timers is not None:
                replaced[batch.stream_id] = timer_rows(
                    batch.stream_id, batch.tenant, batch.project, timers.rows
                )
        if not replaced:
            return
        if stale := [stream for stream in replaced if stream not in new]:
            self._conn.execute(_DELETE_TIMERS, {"streams": stale})
        rows = [row for stream_rows in replaced.values() for row in stream_rows]
        if rows:
            self._conn.execute(insert(t.sla_timers), rows)


def earliest(written: Sequence[Written]) -> datetime | None:
    """The earliest `fires_at` among the timers the appends written carry, if any."""
    return min(
        (
            row.fires_at
            for batch, _ in written
            if (timers := batch.inline_of(StreamTimers)) is not None
            for row in timers.rows
        ),
        default=None,
    )


# Built once, with expanding parameters: building a statement (and its cache key) for
# every group showed in the profile, next to running it.
_DELETE_TIMERS = delete(t.sla_timers).where(
    t.sla_timers.c.work_order_id.in_(bindparam("streams", expanding=True))
)
