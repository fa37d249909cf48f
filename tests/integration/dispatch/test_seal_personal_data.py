"""`wo dispatch seal-personal-data` on a store written before sealing (issue 17: "the
migration of a store written by today's code"), on SQLite and PostgreSQL, with a real
nats-server holding the old messages.

The store is written by the API as dispatch wrote it before sealing: the report command
with its sealing step taken out (`sealed_reported` passing the events through), so the
event, outbox payload, listing summary and idempotency answer hold the clear values, and
the events are published to EVENTS as the relay published them. After the migration no
seeded name, phone, unit or detail is in any of dispatch's tables nor on the stream; the
sealed reports open to the original values; the order views show clear values to a
supervisor (logged) and masks to a project manager; a run stopped after one batch is
finished by the next, and a run after that changes nothing.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

import shared.nats
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.report_sealing import SqlReportStore
from services.dispatch.adapters.republish import republish_all
from services.dispatch.adapters.stream_sealing import replace_clear_reports
from services.dispatch.entrypoints import seal_personal_data as migration
from services.dispatch.entrypoints.bootstrap import privacy_of
from services.dispatch.entrypoints.dispatch_cli import dispatch_app
from services.dispatch.service_layer import work_orders
from services.dispatch.service_layer.personal_data import open_report
from services.dispatch.service_layer.report_sealing import (
    BatchDone,
    Rewritten,
    seal_stored_reports,
)
from services.dispatch.settings import DispatchSettings
from shared.auth import Role
from shared.clock import SystemClock
from shared.database import create_engine
from shared.envelope import Envelope
from shared.events.base import EventData
from shared.nats import connect
from shared.subjects import EVENTS_STREAM
from tests.integration.dispatch.api_support import Api, auth, running_api
from tests.stored_rows import rows_as_text
from wo.processes import NatsServer

RESIDENTS = (
    {"name": "欧阳娜娜", "phone": "13912345678", "unit": "7-2304", "detail": "2号卫生间"},
    {"name": "李建国", "phone": "13698765432", "unit": "3-1102", "detail": "北阳台3号窗"},
    {"name": "Wang Fang", "phone": "13755501234", "unit": "5-0601", "detail": "厨房2号水槽"},
)
SEEDED = (*(v for r in RESIDENTS for v in r.values()), "2345678", "8765432", "5501234")
"""The clear values, and the parts of each phone no mask shows."""


SHORT_WINDOW = 1.0
"""The stream's duplicate window in these tests, which the migration waits out."""


class _Crash(Exception):
    """Stands for the process dying after a batch committed."""


@pytest.fixture
def before_sealing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The report command as dispatch ran it before sealing: the report appended as
    decided, in clear, and no row in the residents' index (its catch-up loop made them)."""

    async def in_clear(
        decided: list[EventData], *_: Any, **__: Any
    ) -> tuple[list[EventData], None]:
        return decided, None

    monkeypatch.setattr(work_orders, "sealed_reported", in_clear)
    yield
    monkeypatch.undo()


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """EVENTS made with the short duplicate window, before its first message: ids stored
    under the long one and the window shortened afterwards were sometimes remembered past
    the short one's end (JetStream kept the long window's purge timer), and then the
    migration skipped every work order, on a loaded machine."""
    monkeypatch.setattr(shared.nats, "DUPLICATE_WINDOW_SECONDS", SHORT_WINDOW)


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await connect(nats_server.url, "test-seal-personal-data")
    yield nc.jetstream()
    await nc.close()


def _report_body(resident: dict[str, str]) -> dict[str, Any]:
    return {
        "project": "sunny",
        "kind": "repair",
        "category": "plumbing",
        "location": {"building": "b1", "unit": resident["unit"], "detail": resident["detail"]},
        "reporter": {"name": resident["name"], "phone": resident["phone"]},
        "channel": "phone",
        "description": "漏水",
    }


async def _old_store(database_url: str, js: JetStreamContext) -> list[str]:
    """Three reports in clear (one with an Idempotency-Key, one assigned), published."""
    ids = []
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        for i, resident in enumerate(RESIDENTS):
            body = _report_body(resident)
            headers = {**auth(Role.CUSTOMER_SERVICE), "Idempotency-Key": f"call-{i}"}
            reported = await api.client.post("/v1/work-orders", json=body, headers=headers)
            assert reported.status_code == 201, reported.text
            assert reported.json()["reporter"]["name"] == resident["name"]
            ids.append(str(reported.json()["id"]))
        assigned = await api.command(ids[1], "assign", Role.DISPATCHER, {"assignee": "tech-li"})
        assert assigned.status_code == 200, assigned.text
        await republish_all(api.dispatch.engine, js)
    # The migration waits the stream's (short) duplicate window out before publishing again.
    info = await js.stream_info(EVENTS_STREAM)
    assert info.config.duplicate_window == SHORT_WINDOW
    return ids


async def _table_texts(url: str) -> dict[str, list[str]]:
    return await rows_as_text(url, t.metadata)


async def _stream(js: JetStreamContext) -> list[tuple[int, Envelope, bytes]]:
    state = (await js.stream_info(EVENTS_STREAM)).state
    found = []
    for seq in range(state.first_seq, state.last_seq + 1):
        try:
            message = await js.get_msg(EVENTS_STREAM, seq)
        except NotFoundError:
            continue  # deleted
        raw = message.data or b""
        found.append((seq, Envelope.from_json(raw), raw))
    return found


def _files_of(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def _clear_in(texts: list[str]) -> list[str]:
    return [text for text in texts if any(v in text for v in SEEDED)]


async def _migrate(
    database_url: str, nats_url: str, on_batch: Any = None, dry_run: bool = False
) -> migration.Migrated:
    settings = DispatchSettings(environment="development", database_url=database_url)
    return await migration.seal_personal_data(
        database_url,
        nats_url,
        settings,
        batch_size=1,
        dry_run=dry_run,
        console=Console(file=io.StringIO()),
        on_batch=on_batch,
    )


async def test_a_store_written_before_sealing_is_sealed_everywhere_once(
    database_url: str,
    js: JetStreamContext,
    nats_server: NatsServer,
    before_sealing: None,
    short_window: None,
) -> None:
    ids = await _old_store(database_url, js)
    before = await _table_texts(database_url)
    assert _clear_in(before["events"]) and _clear_in(before["outbox"])
    assert _clear_in(before["work_orders"]) and _clear_in(before["idempotency_keys"])
    old_stream = await _stream(js)
    assert len(_clear_in([raw.decode() for _, _, raw in old_stream])) == 3

    dry = await _migrate(database_url, nats_server.url, dry_run=True)
    assert (dry.store.events, dry.stream.groups) == (3, 3)
    assert await _table_texts(database_url) == before

    # The process dies after its first batch (one report) committed.
    def crash(done: BatchDone) -> None:
        raise _Crash

    with pytest.raises(_Crash):
        await _migrate(database_url, nats_server.url, on_batch=crash)
    half = await _table_texts(database_url)
    assert len(_clear_in(half["events"])) == 2
    assert len(_clear_in([raw.decode() for _, _, raw in await _stream(js)])) == 3

    done = await _migrate(database_url, nats_server.url)

    assert done.store.events == 2  # the crashed run's batch is not sealed twice
    assert done.stream.groups == 3 and done.stream.skipped == 0
    after = await _table_texts(database_url)
    for table, texts in after.items():
        assert not [(text, [v for v in SEEDED if v in text]) for text in _clear_in(texts)], table
    stream = await _stream(js)
    assert not _clear_in([raw.decode() for _, _, raw in stream])
    # Every stored event is on the stream once, each work order's in version order.
    per_order: dict[str, list[int]] = {}
    for _, envelope, _ in stream:
        per_order.setdefault(envelope.subject, []).append(envelope.sequence)
    old_per_order: dict[str, list[int]] = {}
    for _, envelope, _ in old_stream:
        old_per_order.setdefault(envelope.subject, []).append(envelope.sequence)
    assert per_order == old_per_order
    assert {e.id for _, e, _ in stream} == {e.id for _, e, _ in old_stream}
    # Erased, not only hidden: JetStream's files hold none of the old bytes.
    stored = await asyncio.to_thread(_files_of, Path(nats_server.store_dir))
    assert not [v for v in SEEDED if v.encode() in stored]

    await _sealed_reports_open_to_the_originals(database_url, ids)
    await _views_by_role(database_url, ids)
    after = await _table_texts(database_url)

    again = await _migrate(database_url, nats_server.url)
    assert again.store == Rewritten() and again.stream.groups == 0
    assert await _table_texts(database_url) == after
    assert [(s, e.id) for s, e, _ in await _stream(js)] == [(s, e.id) for s, e, _ in stream]


async def _sealed_reports_open_to_the_originals(database_url: str, ids: list[str]) -> None:
    engine = create_engine(database_url)
    settings = DispatchSettings(environment="development", database_url=database_url)
    privacy = privacy_of(engine, settings, SystemClock())
    try:
        async with engine.connect() as conn:
            query = select(t.events).where(t.events.c.type_name == "workorder.reported")
            reports = {r.stream_id: r for r in (await conn.execute(query)).all()}
        for wid, resident in zip(ids, RESIDENTS, strict=True):
            opened, erased = await open_report(dict(reports[wid].data), "acme", privacy.fields)
            assert erased == ()
            assert (opened["reporter"]["name"], opened["reporter"]["phone"]) == (
                resident["name"],
                resident["phone"],
            )
            assert (opened["location"]["unit"], opened["location"]["detail"]) == (
                resident["unit"],
                resident["detail"],
            )
    finally:
        await engine.dispose()


async def _views_by_role(database_url: str, ids: list[str]) -> None:
    async with running_api(database_url, register_projects=False) as api:
        wid, resident = ids[1], RESIDENTS[1]
        supervisor = await _read(api, wid, Role.SUPERVISOR)
        manager = await _read(api, wid, Role.PROJECT_MANAGER)
        assert (supervisor["reporter"]["name"], supervisor["reporter"]["phone"]) == (
            resident["name"],
            resident["phone"],
        )
        assert supervisor["location"]["unit"] == resident["unit"]
        assert supervisor["status"] == "assigned"
        assert (manager["reporter"]["name"], manager["reporter"]["phone"]) == (
            "李**",
            "136****5432",
        )
        assert manager["location"]["unit"] == "*-****"
        logged = await api.client.get(
            "/v1/privacy/access-log",
            params={"subject": "supervisor-1"},
            headers=auth(Role.PRIVACY_OFFICER),
        )
        [entry] = logged.json()["items"]
        assert (entry["resident"], entry["work_order_id"]) == (
            manager["reporter"]["resident"],
            wid,
        )
        # Views logged before sealing are named by the resident's reference now.
        earlier = await api.client.get(
            "/v1/privacy/access-log",
            params={"subject": "customer_service-1"},
            headers=auth(Role.PRIVACY_OFFICER),
        )
        assert len(earlier.json()["items"]) == 3
        assert all(e["resident"].startswith("rsd_") for e in earlier.json()["items"])
        # The old report's plain fingerprint is gone: a retry with its key is refused,
        # not taken for a new report.
        orders = await api.event_count()
        replay = await api.client.post(
            "/v1/work-orders",
            json=_report_body(resident),
            headers={**auth(Role.CUSTOMER_SERVICE), "Idempotency-Key": "call-1"},
        )
        assert replay.status_code == 422 and replay.json()["code"] == "idempotency_key_reused"
        assert await api.event_count() == orders


async def _read(api: Api, wid: str, role: Role) -> dict[str, Any]:
    response = await api.client.get(f"/v1/work-orders/{wid}", headers=auth(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "sealed" not in body["reporter"]
    return body


def test_the_command_fails_with_a_message_on_a_database_without_dispatchs_tables(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(
        dispatch_app,
        [
            "seal-personal-data",
            "--database-url",
            url,
            "--nats-url",
            "nats://127.0.0.1:1",
            "--dry-run",
        ],
        env={"ENVIRONMENT": "development"},
    )
    assert result.exit_code == 1
    assert "error:" in result.output


async def test_a_run_stopped_while_replacing_the_stream_is_finished_by_the_next(
    database_url: str,
    js: JetStreamContext,
    nats_server: NatsServer,
    before_sealing: None,
    short_window: None,
) -> None:
    await _old_store(database_url, js)
    old_stream = await _stream(js)
    engine = create_engine(database_url)
    store = SqlEventStore(engine)
    privacy = privacy_of(
        engine,
        DispatchSettings(environment="development", database_url=database_url),
        SystemClock(),
    )

    def crash(done: int, total: int) -> None:
        raise _Crash  # after the first work order's messages were replaced

    try:
        await seal_stored_reports(
            SqlReportStore(engine, privacy.fingerprint_key), privacy.fields, privacy.reference_key
        )
        with pytest.raises(_Crash):
            await replace_clear_reports(js, store, on_progress=crash)
    finally:
        await store.close()
        await engine.dispose()
    assert len(_clear_in([raw.decode() for _, _, raw in await _stream(js)])) == 2

    done = await _migrate(database_url, nats_server.url)

    assert done.store.events == 0 and done.stream.groups == 2
    stream = await _stream(js)
    assert not _clear_in([raw.decode() for _, _, raw in stream])
    assert sorted(str(e.id) for _, e, _ in stream) == sorted(str(e.id) for _, e, _ in old_stream)
    per_order: dict[str, list[int]] = {}
    for _, envelope, _ in stream:
        per_order.setdefault(envelope.subject, []).append(envelope.sequence)
    assert all(versions == sorted(versions) for versions in per_order.values())
