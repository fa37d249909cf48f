"""The report handler seals before it appends, on the memory store: what is stored holds
the reference, masks and tokens; answers open them per caller; reports stored before
sealing (clear values, no reference) still parse, fold and are answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from services.dispatch.domain.residents import phone_index
from services.dispatch.domain.workorder import View, fold
from services.dispatch.service_layer.access_log import Disclosure, disclose, disclose_history
from shared.auth import Principal, Role
from shared.errors import InvalidInput
from shared.events.catalogue import parse
from shared.privacy.pseudonym import is_resident_reference
from tests.unit.dispatch.builders import report
from tests.unit.dispatch.service_layer.fakes import PROJECT, TENANT, Dispatch

CLEAR_VALUES = ("王女士", "13800000000", "1202")
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _disclosure(role: Role, subject: str | None = None) -> Disclosure:
    principal = Principal(
        subject=subject or f"{role.value}-1",
        role=role,
        tenant=TENANT,
        projects=frozenset({PROJECT}),
    )
    return Disclosure(principal, "GET /v1/work-orders/{work_order_id}", AT)


def _holds_clear(value: Any) -> list[str]:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return [v for v in CLEAR_VALUES if v in text]


async def test_what_a_report_stores_holds_no_clear_value_and_the_index_its_reference() -> None:
    dispatch = Dispatch()
    await dispatch.register_project()

    reported = await dispatch.report(report(), key="call-1")
    work_order_id = reported.body["id"]

    [stored] = [e for e in dispatch.store.streams[work_order_id] if e.version == 1]
    reference = stored.data["reporter"]["resident"]
    assert is_resident_reference(reference)
    assert stored.data["reporter"]["name"] == "王**"
    assert _holds_clear(dispatch.store.streams[work_order_id]) == []
    assert _holds_clear(dispatch.store.work_orders[work_order_id].view.summary) == []
    assert _holds_clear([r.response for r in dispatch.store.keys.values()]) == []
    assert _holds_clear(reported.body) == []  # the answer is opened at the entrypoint
    entry = dispatch.store.residents[work_order_id]
    assert entry.subject == reference
    assert entry.phone_index == phone_index(dispatch.privacy.index_key, "138 0000 0000")


async def test_a_replay_answers_the_sealed_record_and_a_reused_key_is_still_refused() -> None:
    dispatch = Dispatch()
    await dispatch.register_project()

    first = await dispatch.report(report(), key="call-1")
    again = await dispatch.report(report(), key="call-1")

    assert again.replayed and again.body == first.body
    with pytest.raises(InvalidInput, match="already used"):
        await dispatch.report(report(resident_id="res-2"), key="call-1")


async def test_answers_open_the_stored_report_for_whom_may_see_it() -> None:
    dispatch = Dispatch()
    await dispatch.register_project()
    body = (await dispatch.report(report())).body
    log = InMemoryAccessLog()
    fields = dispatch.privacy.fields

    [clear] = await disclose(log, fields, _disclosure(Role.SUPERVISOR), View.ORDER, [body])
    [manager] = await disclose(log, fields, _disclosure(Role.PROJECT_MANAGER), View.ORDER, [body])

    assert (clear["reporter"]["name"], clear["location"]["unit"]) == ("王女士", "1202")
    assert manager["reporter"]["name"] == "王**" and "sealed" not in manager["reporter"]
    assert [e.resident for e in log.entries] == [body["reporter"]["resident"]]


OLD_REPORT: dict[str, Any] = {
    "kind": "repair",
    "category": "plumbing",
    "urgency": "normal",
    "location": {"building": "3", "unit": "1202", "detail": None},
    "reporter": {"name": "王女士", "phone": "13800000000", "resident_id": "res-1"},
    "channel": "phone",
    "description": "厨房水管漏水",
    "owner": "cs-1",
}
"""A `workorder.reported` as dispatch stored it before sealing: clear, no reference."""


async def test_a_report_stored_before_sealing_parses_folds_and_is_answered() -> None:
    event = parse("workorder.reported", OLD_REPORT)
    state = fold([(event, AT)])
    assert state is not None
    body = {"id": "wo-old", "tenant": TENANT, "project": PROJECT, **state.summary()}
    items = [{"type": "workorder.reported.v1", "data": OLD_REPORT}]
    log = InMemoryAccessLog()
    fields = Dispatch().privacy.fields

    [clear] = await disclose(log, fields, _disclosure(Role.SUPERVISOR), View.ORDER, [body])
    [masked] = await disclose(log, fields, _disclosure(Role.PROJECT_MANAGER), View.ORDER, [body])
    [history] = await disclose_history(log, fields, _disclosure(Role.SUPERVISOR), body, items)

    assert state.reporter.resident is None and state.reporter.phone == "13800000000"
    assert clear["reporter"]["phone"] == "13800000000" and "sealed" not in clear["reporter"]
    assert masked["reporter"]["phone"] == "138****0000"
    assert history["data"]["reporter"]["name"] == "王女士"
    # Whose: with no reference yet, the resident's login, as before sealing.
    assert [e.resident for e in log.entries] == ["res-1", "res-1"]
