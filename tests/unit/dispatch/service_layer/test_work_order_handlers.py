"""The work-order handlers on the memory event store: what a command decides, appends and
answers, with no database (storage itself is the contract suites' business)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from services.dispatch.adapters.memory_event_store import MemoryEventStore
from services.dispatch.domain.commands import AcceptOffer, Arrive, DeclineOffer
from services.dispatch.service_layer.ports import AppendBatch, AppendResult
from shared.errors import ConcurrencyConflict, Conflict
from shared.events.workorder import DispatchMode
from tests.unit.dispatch.builders import report
from tests.unit.dispatch.service_layer.fakes import Dispatch, rule


class Interleaving(MemoryEventStore):
    """A memory store that lets another command in just before the next append, as a
    second dispatcher's request would between this one's load and its append."""

    def __init__(self) -> None:
        super().__init__()
        self.before_next_append: Callable[[], Awaitable[object]] | None = None

    async def append(self, batch: AppendBatch) -> AppendResult:
        step, self.before_next_append = self.before_next_append, None
        if step is not None:
            await step()
        return await super().append(batch)


async def types(dispatch: Dispatch, work_order_id: str) -> list[str]:
    return [e.type_name for e in await dispatch.store.load(work_order_id)]


async def test_a_report_is_offered_numbered_accepted_and_arrived_at() -> None:
    dispatch = Dispatch(rule=rule(DispatchMode.AUTO))
    dispatch.staff.hire("wang")
    await dispatch.register_project()

    reported = await dispatch.report(report())
    work_order_id = reported.body["id"]
    accepted = await dispatch.run(work_order_id, AcceptOffer(), "wang")
    arrived = await dispatch.run(work_order_id, Arrive(), "wang")

    assert reported.body["number"] == "SG-20261201-0001"
    assert reported.body["offered_to"] == ["wang"]
    assert accepted.body["assignee"] == "wang" and accepted.body["status"] == "assigned"
    assert arrived.body["status"] == "on_site"
    history = await types(dispatch, work_order_id)
    assert history[0] == "workorder.reported"
    steps = ["workorder.offered", "workorder.assignment_accepted", "workorder.arrived"]
    assert [t for t in history if t in steps] == steps
    listed = dispatch.store.work_orders[work_order_id]
    assert (listed.view.status, listed.view.assignee, listed.version) == (
        "on_site",
        "wang",
        arrived.version,
    )
    assert listed.view.number == "SG-20261201-0001"
    # The offer's expiry timer went with the offer; the SLA clocks' timers stay.
    clocks = {row.clock for row in dispatch.store.timers[work_order_id]}
    assert "offer" not in clocks and clocks


async def test_an_open_offer_has_its_expiry_timer() -> None:
    dispatch = Dispatch(rule=rule(DispatchMode.AUTO))
    dispatch.staff.hire("wang")
    await dispatch.register_project()

    reported = await dispatch.report(report())

    keys = [row.key for row in dispatch.store.timers[reported.body["id"]]]
    assert "offer:1" in keys


async def test_an_acceptance_over_the_load_limit_is_refused_and_appends_nothing() -> None:
    dispatch = Dispatch(rule=rule(DispatchMode.GRAB, load_limit=1))
    dispatch.staff.hire("wang")
    await dispatch.register_project()
    first = (await dispatch.report(report())).body["id"]
    second = (await dispatch.report(report())).body["id"]
    await dispatch.run(first, AcceptOffer(), "wang")
    before = await types(dispatch, second)

    with pytest.raises(Conflict) as refused:
        await dispatch.run(second, AcceptOffer(), "wang")

    assert refused.value.code == "over_load_limit"
    assert refused.value.extra["open_work_orders"] == [first]
    assert await types(dispatch, second) == before
    assert dispatch.store.work_orders[second].view.status == "reported"


async def test_a_repeated_key_replays_the_first_answer_and_reports_once() -> None:
    dispatch = Dispatch()
    await dispatch.register_project()

    first = await dispatch.report(report(), key="k-1")
    again = await dispatch.report(report(), key="k-1")

    assert not first.replayed and again.replayed
    assert again.body == first.body and again.body["number"] == "SG-20261201-0001"
    assert list(dispatch.store.work_orders) == [first.body["id"]]


async def test_an_acceptance_that_loses_the_race_for_its_stream_is_decided_again() -> None:
    dispatch = Dispatch(store=Interleaving(), rule=rule(DispatchMode.GRAB))
    dispatch.staff.hire("wang")
    dispatch.staff.hire("li")
    await dispatch.register_project()
    work_order_id = (await dispatch.report(report())).body["id"]
    store = dispatch.store
    assert isinstance(store, Interleaving)
    store.before_next_append = lambda: dispatch.run(work_order_id, DeclineOffer(), "li")

    accepted = await dispatch.run(work_order_id, AcceptOffer(), "wang")

    assert accepted.body["assignee"] == "wang"
    history = await types(dispatch, work_order_id)
    assert history.index("workorder.assignment_declined") < history.index(
        "workorder.assignment_accepted"
    )


async def test_another_command_that_loses_the_race_is_a_conflict_for_the_client() -> None:
    dispatch = Dispatch(store=Interleaving(), rule=rule(DispatchMode.GRAB))
    dispatch.staff.hire("wang")
    dispatch.staff.hire("li")
    await dispatch.register_project()
    work_order_id = (await dispatch.report(report())).body["id"]
    await dispatch.run(work_order_id, AcceptOffer(), "wang")
    store = dispatch.store
    assert isinstance(store, Interleaving)
    store.before_next_append = lambda: dispatch.run(work_order_id, Arrive(), "wang")

    with pytest.raises(ConcurrencyConflict):
        await dispatch.run(work_order_id, Arrive(), "wang")
