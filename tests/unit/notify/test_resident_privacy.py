"""notify folds and routes residents by reference and masks, never by clear values, and
forgets an erased resident."""

from __future__ import annotations

from typing import Any

from services.notify.adapters.memory_batch import in_memory_recorder
from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.domain.routing import (
    WorkOrderFacts,
    fold,
    forget_resident,
    plan,
    with_reference,
)
from services.notify.service_layer.handler import NotifyHandler
from shared.clock import ManualClock
from shared.consumer import Delivery
from shared.events.resident import ResidentErased
from shared.privacy.pseudonym import reporter_reference
from tests.unit.notify.builders import PHONE, PROJECT, RESIDENT, T0, TENANT, envelope, reported

BOTH = TenantConfig(resident_channels=(ChannelName.INBOX, ChannelName.SMS))


def reported_data(**reporter: Any) -> dict[str, Any]:
    data = reported().model_dump(mode="json")
    data["reporter"].update(reporter)
    return data


def test_a_clear_report_of_before_masking_is_folded_masked() -> None:
    facts = fold(WorkOrderFacts(), "workorder.reported", reported_data())

    assert (facts.resident_name, facts.resident_phone) == ("张*", "138****0000")
    assert facts.resident is None
    assert PHONE not in str(facts.to_json()) and "张三" not in str(facts.to_json())


def test_a_masked_report_keeps_its_masks_and_reference() -> None:
    data = reported_data(name="张*", phone="138****0000", resident=RESIDENT)

    facts = fold(WorkOrderFacts(), "workorder.reported", data)

    assert (facts.resident_name, facts.resident_phone, facts.resident) == (
        "张*",
        "138****0000",
        RESIDENT,
    )


def test_the_resident_is_addressed_by_reference_with_masked_name_and_phone() -> None:
    facts = fold(WorkOrderFacts(), "workorder.reported", reported_data(resident=RESIDENT))

    messages, _ = plan("workorder.completed", {}, facts, BOTH, PROJECT)

    to_resident = {(m.recipient.key, m.channel, m.address, m.recipient.name) for m in messages}
    assert (f"resident:{RESIDENT}", ChannelName.SMS, "138****0000", "张*") in to_resident
    assert (f"resident:{RESIDENT}", ChannelName.INBOX, "res-zhang", "张*") in to_resident


def test_an_erased_resident_is_planned_nothing_and_not_recorded_as_missed() -> None:
    facts = forget_resident(
        fold(WorkOrderFacts(), "workorder.reported", reported_data(resident=RESIDENT))
    )

    messages, unreached = plan("workorder.completed", {}, facts, BOTH, PROJECT)

    assert [m for m in messages if m.recipient.key.startswith("resident")] == []
    assert [u for u in unreached if u.target.startswith("resident")] == []
    assert (facts.resident_name, facts.resident_phone, facts.resident_id) == ("", None, None)


async def test_resident_erased_skips_pending_deliveries_and_is_idempotent() -> None:
    recorder = in_memory_recorder()
    config = NotifyConfig(tenants={TENANT: BOTH})
    notify = NotifyHandler(recorder, config, TemplateRenderer(), ManualClock(T0))
    report = envelope(reported(), 1, work_order_id="wo-1")
    erased = ResidentErased(
        resident=RESIDENT,
        work_orders=("wo-1",),
        erased_by="dpo-1",
        reason="request",
        keys_destroyed=1,
    )
    await notify.handle([Delivery(report, report.nats_subject(), 1, num_delivered=1)])
    for sequence in (2, 3):  # the erasure, and its redelivery
        wire = envelope(erased, 1, work_order_id=RESIDENT)
        await notify.handle([Delivery(wire, wire.nats_subject(), sequence, num_delivered=1)])

    rows = recorder.rows
    to_resident = [d for d in rows.deliveries.values() if d.recipient == f"resident:{RESIDENT}"]
    assert len(to_resident) == 2  # inbox and SMS
    assert {d.status for d in to_resident} == {DeliveryStatus.SKIPPED}
    skipped = [e for e in rows.outbox if e.type_name == "notification.skipped"]
    assert len(skipped) == 2 and {e.data["reason"] for e in skipped} == {"resident_erased"}
    assert rows.work_orders["wo-1"].facts.resident_erased
    assert rows.work_orders["wo-1"].version == 1  # the order's own events keep their place


def test_forgetting_twice_is_forgetting_once() -> None:
    facts = fold(WorkOrderFacts(), "workorder.reported", reported_data(resident=RESIDENT))

    assert forget_resident(forget_resident(facts)) == forget_resident(facts)


def test_resident_erased_is_an_event_without_personal_data() -> None:
    erased = ResidentErased(
        resident=RESIDENT,
        work_orders=("wo-1",),
        erased_by="dpo",
        reason="request",
        keys_destroyed=1,
    )
    wire = envelope(erased, 1, work_order_id=RESIDENT)

    # The reference and counts, never a name, phone or unit.
    assert wire.type_name == "resident.erased" and set(wire.data) <= {
        "resident",
        "work_orders",
        "projects",
        "erased_by",
        "reason",
        "keys_destroyed",
        "case",
    }


def test_a_report_of_before_references_gets_the_reference_dispatch_derives() -> None:
    key = b"k" * 32
    old = reported_data()

    derived = with_reference(old, key, TENANT, "wo-1")
    carried = with_reference(reported_data(resident=RESIDENT), key, TENANT, "wo-1")

    assert derived["reporter"]["resident"] == reporter_reference(
        key, TENANT, phone=PHONE, resident_id="res-zhang", work_order_id="wo-1"
    )
    assert carried["reporter"]["resident"] == RESIDENT
    assert old["reporter"].get("resident") is None  # the event's own data is left as it was
