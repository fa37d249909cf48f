"""`shared.stream_rewrite` against a real nats-server: a group whose old message ids
JetStream still remembers after the duplicate window (its purge timer ran late, as on a
loaded CI machine) is tried again once the window has passed, not left for the next run,
and the copies an attempt stored before it met the remembered id do not stay behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime

import orjson
import pytest
from nats.js import JetStreamContext

from shared import stream_rewrite
from shared.jetstream import MSG_ID_HEADER, OutgoingMessage
from shared.nats import connect, ensure_streams
from shared.stream_rewrite import Envelope, replace_messages
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer

SUBJECT = "events.acme.sunny.workorder.reported.v1"
WINDOW_SECONDS = 1.0


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_server.url, "stream-rewrite-test")
    context = client.jetstream()
    await ensure_streams(context, streams=(EVENTS_STREAM,))
    info = await context.stream_info(EVENTS_STREAM)
    await context.update_stream(replace(info.config, duplicate_window=WINDOW_SECONDS))
    yield context
    await client.close()


def _body(event_id: str, clear: bool) -> bytes:
    return orjson.dumps({"id": event_id, "subject": "wo-1", "clear": clear})


async def _stream(js: JetStreamContext) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []

    def visit(_: int, body: bytes, __: datetime) -> None:
        envelope = orjson.loads(body)
        found.append((envelope["id"], envelope["clear"]))

    await stream_rewrite.each_message(js, "events.>", visit)
    return found


async def test_a_group_whose_old_id_is_still_remembered_is_replaced_after_the_window(
    js: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await js.publish(SUBJECT, _body("a", True), headers={MSG_ID_HEADER: "a"})
    await asyncio.sleep(WINDOW_SECONDS + 0.6)  # JetStream has forgotten "a" ...
    await js.publish(SUBJECT, _body("b", True), headers={MSG_ID_HEADER: "b"})  # ... not "b"

    # The first wait is cut short: it stands for JetStream's purge timer running late,
    # so "b" is still remembered when the group is published.
    waits: list[float] = []
    outwait = stream_rewrite._outwait

    async def late_purge(newest: datetime | None, window: float, on_wait: object) -> None:
        waits.append(window)
        if len(waits) > 1:
            await outwait(newest, window, None)

    monkeypatch.setattr(stream_rewrite, "_outwait", late_purge)

    async def sealed(_: str, old: Sequence[Envelope]) -> list[OutgoingMessage]:
        return [OutgoingMessage(SUBJECT, _body(e["id"], False), e["id"]) for e in old]

    done = await replace_messages(js, "events.>", lambda e: bool(e["clear"]), sealed)

    assert (done.groups, done.skipped, done.published, done.deleted) == (1, 0, 2, 2)
    # Only the last attempt's copies, in order; the first attempt's copy of "a" is gone.
    assert await _stream(js) == [("a", False), ("b", False)]
    assert len(waits) == 2
