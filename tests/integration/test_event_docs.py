"""docs/events.md and docs/events/*.schema.json tell integrators the truth about the bus.

The schemas must be what the models generate, every event type must be documented, the
example envelope must be a valid wire message, and the Python subscriber in the guide must
really work against a real nats-server.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.dispatch.adapters.rows import SOURCE as DISPATCH_SOURCE
from services.dispatch.service_layer.assignment import ASSIGNMENT_ACTOR
from services.dispatch.service_layer.sla import SCHEDULER_ACTOR
from services.notify.service_layer.events import SOURCE as NOTIFY_SOURCE
from shared.envelope import Envelope, envelope_json
from shared.events.catalogue import EVENT_TYPES
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.events.schemas import generate, render
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM, event_subject
from tests.conftest import ADMIN, SecuredNats
from wo.processes import NatsServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / "events.md"
SCHEMA_DIR = DOCS / "events"

SCRIPT_TIMEOUT_SECONDS = 30.0
DOCUMENTED_DURABLE = "partner-x-demo"

WORK_ORDER_ID = "3d6f1a2b-8c4e-4f9a-b1d2-7e5c9a0b4f61"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
META = EventMetadata(actor="cs-017", correlation_id="corr-docs")
LIFE: list[tuple[str, dict[str, Any]]] = [
    (
        "workorder.reported",
        {
            "kind": "repair",
            "category": "plumbing",
            "urgency": "normal",
            "location": {"building": "3", "unit": "2-1502", "detail": None},
            "reporter": {"name": "Li Wei", "phone": None, "resident_id": None},
            "channel": "phone",
            "description": "The kitchen sink is leaking.",
            "owner": "cs-017",
        },
    ),
    ("workorder.assigned", {"assignee": "tech-04"}),
    ("workorder.arrived", {"technician": "tech-04"}),
]
"""The first three events of one work order, as dispatch records them."""


def fenced_blocks(language: str) -> list[str]:
    """The bodies of the guide's fenced code blocks marked with `language`, in order."""
    pattern = re.compile(rf"^```{re.escape(language)}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return pattern.findall(GUIDE.read_text(encoding="utf-8"))


def test_committed_schemas_equal_what_the_models_generate() -> None:
    """docs/events holds exactly the generated schemas: none stale, missing or edited."""
    generated = {name: render(schema) for name, schema in generate().items()}
    committed = {
        path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.schema.json")
    }
    stale = sorted(committed.keys() - generated.keys())
    missing = sorted(generated.keys() - committed.keys())
    differing = sorted(
        name for name in generated.keys() & committed.keys() if generated[name] != committed[name]
    )
    assert not (stale or missing or differing), (
        "docs/events is out of date with the event models; run `make schemas` and commit "
        f"the result (stale: {stale}, missing: {missing}, differing: {differing})"
    )


def test_guide_documents_and_links_every_event_type() -> None:
    """Each catalogue type is named in docs/events.md and linked to its schema file."""
    text = GUIDE.read_text(encoding="utf-8")
    undocumented = [
        cls.cloudevents_type()
        for cls in EVENT_TYPES.values()
        if f"`{cls.cloudevents_type()}`" not in text
        or f"(events/{cls.cloudevents_type()}.schema.json)" not in text
    ]
    assert not undocumented, f"docs/events.md does not document or link: {undocumented}"


def test_documented_example_envelope_is_a_valid_wire_message() -> None:
    """The first ```json block parses as an Envelope, with valid data, in wire key order."""
    blocks = fenced_blocks("json")
    assert blocks, "docs/events.md has no ```json example envelope"
    example = blocks[0]
    envelope = Envelope.model_validate_json(example)
    envelope.payload()  # the data validates against its event model
    assert envelope.type_name in EVENT_TYPES
    # Same attributes in the same order as the wire form (compact on the wire).
    assert envelope.to_json() == orjson.dumps(json.loads(example))


def recorded(version: int, type_name: str, data: dict[str, Any]) -> RecordedEvent:
    """One event of the test work order at `version`, with a fresh id."""
    at = T0 + timedelta(minutes=version)
    return RecordedEvent(
        stream_id=WORK_ORDER_ID,
        version=version,
        event_id=uuid.uuid4(),
        type_name=type_name,
        schema_version=EVENT_TYPES[type_name].schema_version,
        tenant="demo",
        project="sunny-garden",
        occurred_at=at,
        recorded_at=at,
        data=data,
        metadata=META,
    )


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A connection to a fresh nats-server whose streams dispatch has created."""
    client = await connect(nats_server.url, "test-event-docs")
    await ensure_streams(client.jetstream())
    yield client
    await client.close()


async def publish(js: JetStreamContext, event: RecordedEvent, msg_id: str | None) -> bool:
    """Publish the event's real envelope bytes as the relay does; True if JetStream stored it."""
    headers = {"Nats-Msg-Id": msg_id} if msg_id is not None else None
    subject = event_subject(event.tenant, event.project, event.type_name)
    ack = await js.publish(subject, envelope_json(event, "/dispatch"), headers=headers)
    return not ack.duplicate


async def run_documented_subscriber(
    tmp_path: Path, nats_url: str, max_messages: int, within: float = SCRIPT_TIMEOUT_SECONDS
) -> tuple[list[str], str]:
    """Run the guide's ```python block as a script; return its output lines and stderr."""
    blocks = fenced_blocks("python")
    assert len(blocks) == 1, "docs/events.md must hold exactly one ```python block"
    script = tmp_path / "subscriber.py"
    script.write_text(blocks[0], encoding="utf-8")
    env = {**os.environ, "NATS_URL": nats_url, "MAX_MESSAGES": str(max_messages)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        pytest.fail(
            f"the documented subscriber did not stop within {within:g} s; "
            f"output: {stdout.decode()!r}, stderr: {stderr.decode()!r}"
        )
    assert process.returncode == 0, stderr.decode()
    return stdout.decode().splitlines(), stderr.decode()


async def assert_everything_acked(js: JetStreamContext) -> None:
    """The documented consumer left nothing pending or unacknowledged."""
    for _ in range(50):
        info = await js.consumer_info(EVENTS_STREAM, DOCUMENTED_DURABLE)
        if info.num_ack_pending == 0 and info.num_pending == 0:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"consumer left messages behind: {info}")


def expected_lines(events: list[RecordedEvent]) -> list[str]:
    """What the documented subscriber prints for each applied event."""
    return [f"{e.type_name}.v{e.schema_version} {e.stream_id} {e.version}" for e in events]


async def test_documented_subscriber_skips_duplicates(
    nc: Client, nats_server: NatsServer, tmp_path: Path
) -> None:
    """A redelivered event (same envelope id, not caught by JetStream) is applied once."""
    js = nc.jetstream()
    events = [recorded(v, name, data) for v, (name, data) in enumerate(LIFE, start=1)]
    first, second, third = events
    assert await publish(js, first, str(first.event_id))
    assert await publish(js, second, str(second.event_id))
    # Within the duplicate window JetStream drops the same Nats-Msg-Id, as documented...
    assert not await publish(js, second, str(second.event_id))
    # ...but after it (or from a republish) the copy is stored; the consumer must skip it.
    assert await publish(js, second, f"{second.event_id}-after-the-window")
    assert await publish(js, third, str(third.event_id))

    lines, stderr = await run_documented_subscriber(tmp_path, nats_server.url, max_messages=4)

    assert lines == expected_lines(events), stderr
    await assert_everything_acked(js)


async def test_documented_subscriber_waits_out_a_gap_and_applies_in_sequence_order(
    nc: Client, nats_server: NatsServer, tmp_path: Path
) -> None:
    """An event that arrives before its predecessor is naked and applied after it."""
    js = nc.jetstream()
    events = [recorded(v, name, data) for v, (name, data) in enumerate(LIFE, start=1)]
    first, second, third = events
    for event in (first, third, second):
        assert await publish(js, event, str(event.event_id))

    # Deliveries: 1, 3 (gap: naked), 2, then 3 again after the nak delay.
    lines, stderr = await run_documented_subscriber(tmp_path, nats_server.url, max_messages=4)

    assert lines == expected_lines(events), stderr
    await assert_everything_acked(js)


async def test_documented_subscriber_waits_through_a_quiet_stream_as_a_read_only_user(
    secured_nats: SecuredNats, tmp_path: Path
) -> None:
    """Nothing to fetch for a while (nats-py raises the built-in TimeoutError) is no crash;
    the integrator's read-only user is all the example needs."""
    # The test's own user: it publishes as dispatch would and looks at the consumer.
    admin = await connect(secured_nats.url(ADMIN), "test-event-docs")
    try:
        js = admin.jetstream()
        await ensure_streams(js, streams=(EVENTS_STREAM,))
        events = [recorded(v, name, data) for v, (name, data) in enumerate(LIFE[:2], start=1)]
        # A fetch that timed out can leave its pull request on the server, which then
        # takes the next messages; they come again after the consumer's 30 s ack wait.
        script = asyncio.create_task(
            run_documented_subscriber(
                tmp_path, secured_nats.url("integrator"), max_messages=2, within=90.0
            )
        )
        while True:  # the script's consumer exists: it is fetching from an empty stream
            try:
                await js.consumer_info(EVENTS_STREAM, DOCUMENTED_DURABLE)
                break
            except NotFoundError:
                await asyncio.sleep(0.1)
        # Longer than the script's 5 s fetch: at least one fetch ends without messages.
        await asyncio.sleep(6.0)
        for event in events:
            assert await publish(js, event, str(event.event_id))

        lines, stderr = await script
    finally:
        await admin.close()

    assert lines == expected_lines(events), stderr


def test_the_envelope_table_names_every_producer_and_every_system_actor() -> None:
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(\w+)`[^|]*\|[^|]*\| (.*) \|$", GUIDE.read_text(), re.M)
    }

    for source in (DISPATCH_SOURCE, NOTIFY_SOURCE):
        assert f"`{source}`" in rows["source"]
    for actor in (SCHEDULER_ACTOR, ASSIGNMENT_ACTOR, "notify"):
        assert f"`{actor}`" in rows["actor"]
