"""Append what the domain decided, with its idempotency record and inline values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.dispatch.service_layer.context import CommandContext, Effect, Outcome
from services.dispatch.service_layer.idempotency import replayed
from services.dispatch.service_layer.ports import (
    AppendBatch,
    EventStore,
    IdempotencyRecord,
    Inline,
    NewEvent,
)
from shared.events.base import EventData
from shared.events.recorded import EventMetadata
from shared.ids import new_uuid
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Stream:
    """Where decided events go: a stream, its tenancy, and the version they were decided on."""

    id: str
    tenant: str
    project: str
    version: int


@dataclass(frozen=True, slots=True)
class Answer:
    """The result a successful command gives (and a repeat of it replays)."""

    effect: Effect
    body: dict[str, Any]
    fingerprint: str


async def append_decided(
    store: EventStore,
    stream: Stream,
    decided: list[EventData],
    ctx: CommandContext,
    answer: Answer,
    inline: tuple[Inline, ...] = (),
) -> Outcome:
    """Append `decided` atomically with the key's record and the `inline` values; the
    command's outcome.

    With a `LoadGuard`, the store refuses the append if it would take the assignee over
    their load limit (`Conflict` with code `over_load_limit`), and writes nothing. With a
    `Numbering`, the store gives the new work order its number in the same transaction
    (in its report event, its listing row and the answer)."""
    version = stream.version + len(decided)
    body = {**answer.body, "version": version}
    key = ctx.idempotency_key
    batch = AppendBatch(
        stream_id=stream.id,
        expected_version=stream.version,
        tenant=stream.tenant,
        project=stream.project,
        events=tuple(
            NewEvent(
                new_uuid(),
                type(e).type_name,
                type(e).schema_version,
                ctx.now,
                e.model_dump(mode="json"),
            )
            for e in decided
        ),
        metadata=EventMetadata(
            actor=ctx.principal.subject, correlation_id=ctx.correlation_id, idempotency_key=key
        ),
        idempotency=(
            IdempotencyRecord(
                stream.tenant,
                ctx.principal.subject,
                key,
                answer.fingerprint,
                stream.id,
                answer.effect,
                body,
            )
            if key
            else None
        ),
        inline=inline,
    )
    result = await store.append(batch)
    if result.duplicate_of is not None:
        return replayed(result.duplicate_of, answer.fingerprint)
    log.info(
        "events.appended",
        stream_id=stream.id,
        tenant=stream.tenant,
        project=stream.project,
        version=version,
        events=[type(e).type_name for e in decided],
        actor=ctx.principal.subject,
    )
    if result.number is not None:
        body["number"] = result.number
    return Outcome(answer.effect, body, version)
