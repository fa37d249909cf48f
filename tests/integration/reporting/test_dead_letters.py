"""Reporting's dead letters and projector state: each tenant sees its own, keyed by event id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from typer.testing import CliRunner

from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.ports import DeadLetterRecord
from services.reporting.service_layer.projector import apply_events
from shared.auth import Role
from tests.integration.reporting.api_support import HQ, running_reporting
from tests.integration.reporting.conftest import Bus
from tests.unit.reporting.histories import TENANT, OrderStory
from wo.cli import app
from wo.processes import NatsServer
from wo.token import mint_dev_token

START = datetime(2026, 11, 1, tzinfo=UTC)
OTHER = "other-estates"


def _hq_of(tenant: str) -> dict[str, str]:
    token = mint_dev_token(role=Role.HQ_QUALITY, tenant=tenant, projects=["*"], subject="hq-2")
    return {"Authorization": f"Bearer {token}"}


async def test_each_tenant_sees_only_its_own_dead_letters_and_projector_state(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    ours = OrderStory("sunny", "repair", START).reported(START)
    ours.emit("workorder.assigned", START)  # no assignee: the catalogue refuses it
    theirs = OrderStory("hills", "repair", START).reported(START)
    theirs.emit("workorder.assigned", START)
    other_events = [{**event, "tenant": OTHER} for event in theirs.events]
    await bus.publish(ours.events + other_events)
    await bus.js.publish("events.acme.sunny.workorder.reported", b'{"name": "Zhang San"}')
    last = await bus.last_sequence()

    async with running_reporting(database_url, nats_server.url, START) as api:
        await api.caught_up(last)

        response = await api.client.get("/v1/dead-letters", headers=HQ)
        assert response.status_code == 200, response.text
        [letter] = response.json()["dead_letters"]
        assert (letter["tenant"], letter["event_id"]) == (TENANT, ours.events[-1]["id"])
        assert "assignee" in letter["error"] and "data" not in letter

        [theirs_letter] = (await api.client.get("/v1/dead-letters", headers=_hq_of(OTHER))).json()[
            "dead_letters"
        ]
        assert theirs_letter["event_id"] == other_events[-1]["id"]

        # A project-scoped headquarters token sees its projects' letters only.
        scoped = mint_dev_token(
            role=Role.HQ_QUALITY, tenant=TENANT, projects=["elsewhere"], subject="hq-3"
        )
        elsewhere = await api.client.get(
            "/v1/dead-letters", headers={"Authorization": f"Bearer {scoped}"}
        )
        assert elsewhere.json() == {"dead_letters": []}
        nothing = await api.client.get(
            "/v1/projector", headers={"Authorization": f"Bearer {scoped}"}
        )
        assert (nothing.json()["work_orders"], nothing.json()["dead_letters"]) == (0, 0)

        state = (await api.client.get("/v1/projector", headers=HQ)).json()
        assert state["tenant"] == TENANT
        assert (state["work_orders"], state["dead_letters"]) == (1, 1)
        assert "stream_sequence" not in state and "events_applied" not in state

        # The body with no envelope names no tenant: only the operator's view lists it.
        every = await api.reporting.store.dead_letters()
        unknown = [x for x in every if x["tenant"] is None]
        assert len(every) == 3 and len(unknown) == 1
        assert "Zhang San" not in unknown[0]["error"]
        assert "Zhang San" not in response.text


def _letter(key: str, stream_sequence: int) -> DeadLetterRecord:
    return DeadLetterRecord(
        key=key,
        tenant=TENANT,
        project="sunny",
        subject="events.demo.sunny.workorder.assigned",
        stream_sequence=stream_sequence,
        event_id=key.removeprefix("event:"),
        stream_id="wo-1",
        sequence=2,
        error="invalid event data: assignee: Field required",
        num_delivered=1,
        data=b"{}",
        skipped=False,
    )


async def test_dead_letters_are_keyed_by_event_id_and_survive_a_reused_stream_sequence(
    store: ReadModelStore,
) -> None:
    await apply_events(store, "reporting", [], 7, [_letter("event:old", 7)])
    # The stream was lost and rebuilt: sequence 7 now holds another event.
    await apply_events(store, "reporting", [], 7, [_letter("event:new", 7)])
    # A redelivery of the first one records nothing twice.
    await apply_events(store, "reporting", [], 7, [_letter("event:old", 7)])

    letters = await store.dead_letters()
    assert sorted(x["event_id"] for x in letters) == ["new", "old"]
    assert await store.dead_letter_count() == 2


async def test_the_operator_reads_every_tenants_state_and_letters_with_wo_reporting(
    database_url: str, store: ReadModelStore
) -> None:
    unknown = DeadLetterRecord(
        **{**_letter("body:0f", 9).__dict__, "tenant": None, "project": None, "event_id": None}
    )
    await apply_events(store, "reporting", [], 9, [_letter("event:ours", 8), unknown])
    runner = CliRunner()
    options = ["--database-url", database_url]

    state = await asyncio.to_thread(
        runner.invoke, app, ["reporting", "projector", *options], terminal_width=200
    )
    assert state.exit_code == 0, state.output
    assert "stream sequence 9" in state.output and "2 dead letters" in state.output

    listed = await asyncio.to_thread(
        runner.invoke, app, ["reporting", "dead-letters", *options], terminal_width=200
    )
    assert listed.exit_code == 0, listed.output
    assert f"{TENANT}/sunny" in listed.output and "-/-" in listed.output
    assert "ours" in listed.output
