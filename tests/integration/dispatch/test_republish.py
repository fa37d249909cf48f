"""Rebuilding a lost EVENTS stream from dispatch's store, via the function and the CLI."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from services.dispatch.adapters.event_store import SOURCE, SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.republish import republish_all
from services.dispatch.entrypoints.cli import relay_app
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from shared.database import create_engine
from shared.envelope import Envelope
from shared.events.recorded import EventMetadata
from shared.nats import connect, ensure_streams
from shared.outbox import RepublishFailed
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer, free_port

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await connect(nats_server.url, "test-republish")
    yield nc.jetstream()
    await nc.close()


async def fill(store: SqlEventStore, work_orders: int, events_each: int) -> int:
    """Append interleaved events to several work orders; return how many were stored."""
    for version in range(events_each):
        for i in range(work_orders):
            event = NewEvent(
                uuid.uuid4(), "workorder.progress_reported", 1, T0, {"note": f"wo-{i} {version}"}
            )
            batch = AppendBatch(f"wo-{i:02d}", version, "acme", "sunny", (event,), META)
            await store.append(batch)
    return work_orders * events_each


async def stream_envelopes(js: JetStreamContext) -> list[Envelope]:
    state = (await js.stream_info(EVENTS_STREAM)).state
    envelopes = []
    for seq in range(state.first_seq, state.last_seq + 1):
        message = await js.get_msg(EVENTS_STREAM, seq)
        envelope = Envelope.from_json(message.data or b"")
        assert (message.headers or {}).get("Nats-Msg-Id") == str(envelope.id)
        assert message.subject == envelope.nats_subject()
        envelopes.append(envelope)
    return envelopes


async def stored_envelopes(store: SqlEventStore, work_orders: int) -> dict[str, list[Envelope]]:
    return {
        f"wo-{i:02d}": [Envelope.from_recorded(e, SOURCE) for e in await store.load(f"wo-{i:02d}")]
        for i in range(work_orders)
    }


def per_work_order(envelopes: list[Envelope]) -> dict[str, list[Envelope]]:
    grouped: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        grouped.setdefault(envelope.subject, []).append(envelope)
    return grouped


async def test_republish_rebuilds_a_deleted_stream_with_every_event_in_work_order_order(
    store: SqlEventStore, js: JetStreamContext
) -> None:
    total = await fill(store, work_orders=7, events_each=5)
    await ensure_streams(js)
    await js.delete_stream(EVENTS_STREAM)
    progress: list[tuple[int, int]] = []

    # Pages of 8 and chunks of 3 cut through work orders: ordering must survive both.
    count = await republish_all(
        store.engine,
        js,
        batch_size=8,
        max_in_flight=3,
        on_progress=lambda done, of: progress.append((done, of)),
    )

    assert count == total
    envelopes = await stream_envelopes(js)
    assert len(envelopes) == total
    assert per_work_order(envelopes) == await stored_envelopes(store, 7)
    assert progress[0] == (0, total) and progress[-1] == (total, total)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


async def test_republishing_within_the_duplicate_window_adds_nothing(
    store: SqlEventStore, js: JetStreamContext
) -> None:
    total = await fill(store, work_orders=3, events_each=2)

    await republish_all(store.engine, js)
    await republish_all(store.engine, js)

    assert len(await stream_envelopes(js)) == total


async def test_republish_rides_out_a_nats_restart_without_duplicates(
    store: SqlEventStore, js: JetStreamContext, nats_server: NatsServer
) -> None:
    total = await fill(store, work_orders=10, events_each=6)
    restarted: list[asyncio.Future[None]] = []

    def stop_nats_midway(done: int, _total: int) -> None:
        if done >= 20 and not restarted:
            nats_server.stop()  # blocks the loop: nothing is published meanwhile
            loop = asyncio.get_running_loop()
            restarted.append(loop.run_in_executor(None, _start_later, nats_server))

    count = await republish_all(
        store.engine,
        js,
        batch_size=15,
        max_in_flight=5,
        publish_timeout=0.5,
        on_progress=stop_nats_midway,
    )
    await restarted[0]

    assert count == total
    envelopes = await stream_envelopes(js)
    assert len(envelopes) == total
    assert per_work_order(envelopes) == await stored_envelopes(store, 10)


def _start_later(server: NatsServer) -> None:
    time.sleep(0.5)
    server.start()


async def test_republish_gives_up_with_a_clear_error_when_nats_stays_down(
    store: SqlEventStore, js: JetStreamContext, nats_server: NatsServer
) -> None:
    await fill(store, work_orders=3, events_each=3)

    def stop_nats_for_good(done: int, _total: int) -> None:
        if done > 0:
            nats_server.stop()

    with pytest.raises(RepublishFailed, match="run the republish again"):
        await republish_all(
            store.engine,
            js,
            max_in_flight=2,
            publish_timeout=0.3,
            retry_timeout=1.0,
            on_progress=stop_nats_for_good,
        )
    # Back up and reconnected (the request waits for that), so the fixture closes cleanly.
    nats_server.start()
    await js.account_info()


async def invoke(*args: str) -> tuple[int, str]:
    # The command runs its own event loop, so it must not run on the test's.
    result = await asyncio.to_thread(
        CliRunner().invoke, relay_app, ["republish", *args], catch_exceptions=False
    )
    return result.exit_code, result.output


async def test_the_cli_republishes_with_progress_and_a_summary(
    store: SqlEventStore, js: JetStreamContext, database_url: str, nats_server: NatsServer
) -> None:
    total = await fill(store, work_orders=4, events_each=3)
    await ensure_streams(js)
    await js.delete_stream(EVENTS_STREAM)

    code, output = await invoke("--database-url", database_url, "--nats-url", nats_server.url)

    assert code == 0, output
    assert f"{total}/{total}" in output
    assert "events/s" in output
    assert f"Republished {total} events to stream EVENTS" in output
    assert per_work_order(await stream_envelopes(js)) == await stored_envelopes(store, 4)


async def test_the_cli_reports_unreachable_nats_in_one_line_and_exits_1(
    store: SqlEventStore, database_url: str
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"

    code, output = await invoke(
        "--database-url", database_url, "--nats-url", nowhere, "--connect-timeout", "1"
    )

    assert code == 1
    assert output.strip() == f"error: cannot reach NATS at {nowhere} within 1 s"


async def test_the_cli_reports_a_bad_database_url_in_one_line_and_exits_1(
    nats_server: NatsServer,
) -> None:
    code, output = await invoke(
        "--database-url", "nosuchdb://somewhere/x", "--nats-url", nats_server.url
    )

    assert code == 1
    assert output.startswith("error: invalid database URL 'nosuchdb://somewhere/x'")
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


async def test_the_cli_reports_a_database_without_the_event_store_and_exits_1(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path}/empty.db"

    code, output = await invoke("--database-url", empty, "--nats-url", nats_server.url)

    assert code == 1
    assert output.startswith("error: cannot read events from the database")
    assert "no such table: events" in output
    assert len(output.strip().splitlines()) == 1


async def test_events_stream_is_recreated_even_when_the_store_is_empty(
    database_url: str, js: JetStreamContext
) -> None:
    engine: AsyncEngine = create_engine(database_url)
    await upgrade(engine)
    try:
        with pytest.raises(NotFoundError):
            await js.stream_info(EVENTS_STREAM)

        assert await republish_all(engine, js) == 0
        assert (await js.stream_info(EVENTS_STREAM)).state.messages == 0
    finally:
        await engine.dispose()
