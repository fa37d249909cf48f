"""The EVENTS stream's copies of reports recorded before sealing: replaced by sealed ones.

A report published before sealing sits on the stream with its reporter's name, phone and
unit in clear, kept for years and read by integrators. Once the store holds the report
sealed (`service_layer.report_sealing`), each work order whose report is on the stream in
clear is published again from the store, every event of it in version order (same event
ids and `Nats-Msg-Id`, so a consumer that applied them skips them), and its earlier
messages are deleted with erasure (`shared.stream_rewrite`). Publishing the whole work
order, not the report alone, keeps the stream's promise of order per work order to
whoever replays it from the start.

Run it with dispatch stopped: a message the relay published meanwhile would be kept
beside its sealed copy, or published after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nats.js import JetStreamContext

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.rows import SOURCE
from services.dispatch.domain.workorder import is_sealed
from shared.envelope import envelope_json
from shared.jetstream import OutgoingMessage
from shared.stream_rewrite import Envelope, Replaced, replace_messages
from shared.subjects import event_subject

WORK_ORDER_SUBJECTS = "events.*.*.workorder.>"
REPORTED_TYPE = "workorder.reported."


def clear_report(envelope: Envelope) -> bool:
    """Whether a message is a report with its reporter's data in clear."""
    data = envelope.get("data")
    kind = str(envelope.get("type", ""))
    return kind.startswith(REPORTED_TYPE) and isinstance(data, dict) and not is_sealed(data)


async def replace_clear_reports(
    js: JetStreamContext,
    store: SqlEventStore,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_wait: Callable[[float], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Replaced:
    """Replace the messages of every work order whose report is on EVENTS in clear by
    the store's (sealed) events; with `dry_run`, count them only. A work order whose
    report the store does not hold sealed (not sealed yet, or not in this store) is left
    as it is."""

    async def from_store(work_order_id: str, _: Sequence[Envelope]) -> list[OutgoingMessage]:
        events = await store.load(work_order_id)
        if not events or not is_sealed(events[0].data):
            return []
        return [
            OutgoingMessage(
                event_subject(e.tenant, e.project, e.type_name),
                envelope_json(e, SOURCE),
                str(e.event_id),
            )
            for e in events
        ]

    return await replace_messages(
        js,
        WORK_ORDER_SUBJECTS,
        clear_report,
        from_store,
        batch_size=batch_size,
        dry_run=dry_run,
        on_wait=on_wait,
        on_progress=on_progress,
    )
