"""The offer-expiry handler on the memory event store: an expired offer moves on, a
stale expiry records nothing and only rewrites the timers."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.domain.commands import AcceptOffer
from services.dispatch.service_layer.offer_expiry import expire_offer
from services.dispatch.service_layer.timers import OfferExpiry
from shared.events.workorder import DispatchMode
from tests.unit.dispatch.builders import report
from tests.unit.dispatch.service_layer.fakes import Dispatch, rule


async def reported_to_wang_and_li() -> tuple[Dispatch, str]:
    dispatch = Dispatch(rule=rule(DispatchMode.AUTO))
    dispatch.staff.hire("wang")
    dispatch.staff.hire("li")
    await dispatch.register_project()
    return dispatch, (await dispatch.report(report())).body["id"]


async def test_an_expired_offer_goes_to_the_next_technician_with_its_own_timer() -> None:
    dispatch, work_order_id = await reported_to_wang_and_li()
    [first] = dispatch.store.work_orders[work_order_id].view.summary["offered_to"]

    later = dispatch.now + timedelta(minutes=2)
    raised = await expire_offer(
        dispatch.store, dispatch.policies, dispatch.staff, work_order_id, 1, later
    )

    assert raised == 2  # the expiry and the next offer
    [second] = dispatch.store.work_orders[work_order_id].view.summary["offered_to"]
    assert {first, second} == {"wang", "li"}
    offers = [row.key for row in dispatch.store.timers[work_order_id] if row.clock == "offer"]
    assert offers == ["offer:2"]


async def test_a_stale_expiry_records_nothing_and_drops_the_offer_timer() -> None:
    dispatch, work_order_id = await reported_to_wang_and_li()
    [holder] = dispatch.store.work_orders[work_order_id].view.summary["offered_to"]
    await dispatch.run(work_order_id, AcceptOffer(), holder)
    events = len(await dispatch.store.load(work_order_id))
    # The timer table still holding the expiry, as a scheduler may find it.
    later = dispatch.now + timedelta(minutes=2)
    pending = dispatch.store.timers[work_order_id]
    expiry = OfferExpiry(work_order_id, 1, later).row()
    dispatch.store.timers[work_order_id] = (*pending, expiry)

    raised = await expire_offer(
        dispatch.store, dispatch.policies, dispatch.staff, work_order_id, 1, later
    )

    assert raised == 0
    assert len(await dispatch.store.load(work_order_id)) == events
    assert dispatch.store.timers[work_order_id] == pending
