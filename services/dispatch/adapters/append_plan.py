"""Which appends of a group win, decided in memory, the same for every event store.

The store reads what the decision needs where the group is written (the stream heads,
the callers' keys already stored, and each registered inline part's state), then this
plan decides in arrival order: a caller's key seen before answers with its first result
and writes nothing, a stale version is a conflict, an inline part may refuse the append
or stamp it; the rest are recorded at their versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.dispatch.adapters.inline import InlinePart, Written
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, IdempotencyRecord
from shared.errors import ConcurrencyConflict
from shared.events.recorded import RecordedEvent

Outcome = AppendResult | Exception

CallerKey = tuple[str, str, str]
"""An idempotency key as the caller's own: (tenant, subject, key)."""


def caller_key(record: IdempotencyRecord) -> CallerKey:
    """Whose key it is: two callers' same key are two commands."""
    return (record.tenant, record.subject, record.key)


def plan(
    batches: Sequence[AppendBatch],
    earlier: dict[CallerKey, IdempotencyRecord],
    heads: dict[str, int],
    parts: Sequence[InlinePart],
    now: datetime,
) -> list[tuple[AppendBatch, Outcome]]:
    """Each append as it is to be written (stamped by the parts), with its outcome.

    `heads` advance with the appends planned, and so do the parts' plans."""
    outcomes: list[tuple[AppendBatch, Outcome]] = []
    first_of_key: dict[CallerKey, IdempotencyRecord] = {}
    for batch in batches:
        record = batch.idempotency
        key = caller_key(record) if record is not None else None
        replay = (earlier.get(key) or first_of_key.get(key)) if key is not None else None
        if replay is not None:
            duplicate = AppendResult(events=(), version=batch.expected_version, duplicate_of=replay)
            outcomes.append((batch, duplicate))
            continue
        head = heads.get(batch.stream_id, 0)
        if batch.expected_version != head:
            outcomes.append((batch, conflict(batch)))
            continue
        admitted = _admit(batch, parts)
        if isinstance(admitted, Exception):
            outcomes.append((batch, admitted))
            continue
        recorded = recorded_events(admitted, now)
        heads[batch.stream_id] = version = head + len(recorded)
        if key is not None and admitted.idempotency is not None:
            # The append's own record, stamped: what a replay in this group answers.
            first_of_key[key] = admitted.idempotency
        number = admitted.given_number()
        outcomes.append((admitted, AppendResult(events=recorded, version=version, number=number)))
    return outcomes


def _admit(batch: AppendBatch, parts: Sequence[InlinePart]) -> AppendBatch | Exception:
    for part in parts:
        admitted = part.admit(batch)
        if isinstance(admitted, Exception):
            return admitted
        batch = admitted
    return batch


def written(plans: Sequence[tuple[AppendBatch, Outcome]]) -> list[Written]:
    """The appends planned that write anything: recorded events, or inline values alone
    (an append with no events still replaces the stream's timers when a timer was stale).
    A refused or conflicting append, and a replay, write nothing."""
    return [
        (batch, outcome)
        for batch, outcome in plans
        if isinstance(outcome, AppendResult)
        and outcome.duplicate_of is None
        and (outcome.events or batch.inline)
    ]


def recorded_events(batch: AppendBatch, recorded_at: datetime) -> tuple[RecordedEvent, ...]:
    """The batch's new events at their stream versions."""
    return tuple(
        RecordedEvent(
            stream_id=batch.stream_id,
            version=batch.expected_version + i,
            event_id=new.event_id,
            type_name=new.type_name,
            schema_version=new.schema_version,
            tenant=batch.tenant,
            project=batch.project,
            occurred_at=new.occurred_at,
            recorded_at=recorded_at,
            data=new.data,
            metadata=batch.metadata,
        )
        for i, new in enumerate(batch.events, start=1)
    )


def conflict(batch: AppendBatch) -> ConcurrencyConflict:
    """The conflict of an append decided on a version the stream has left."""
    return ConcurrencyConflict(
        f"stream {batch.stream_id} changed since version {batch.expected_version}; reload and retry",
        expected_version=batch.expected_version,
    )
