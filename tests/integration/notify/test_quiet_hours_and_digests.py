"""Quiet hours hold residents' non-urgent messages; storms of alerts become digests."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.domain.config import (
    NotifyConfig,
    RouteTarget,
    TenantConfig,
)
from services.notify.domain.digest import DigestPolicy
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from shared.clock import ManualClock
from shared.events.sla import SlaClockBreached
from shared.events.workorder import Urgency
from tests.integration.notify.conftest import Harness, dump, webhook_contact
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, reported, sla_fields

SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
EVENING = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 21:30 in Asia/Shanghai
NEXT_MORNING = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai


def residents_by_sms() -> NotifyConfig:
    """Residents hear of their report by SMS; the owner in the inbox."""
    return NotifyConfig(tenants={TENANT: TenantConfig(resident_channels=(ChannelName.SMS,))})


async def test_a_2130_message_waits_until_0800_and_an_urgent_one_goes_at_once(
    harness: Harness,
) -> None:
    harness.clock = ManualClock(EVENING)
    async with http_receiver() as sms:
        await harness.start(residents_by_sms(), sms_endpoint=f"{sms.url}/send", sms_api_key="k")
        await harness.publish(envelope(reported(), 1, work_order_id="wo-quiet", at=EVENING))
        urgent = reported(urgency=Urgency.URGENT)
        await harness.publish(envelope(urgent, 1, work_order_id="wo-urgent", at=EVENING))

        async def settled() -> bool:
            rows = await harness.deliveries()
            return len(rows) == 4 and all(r["status"] in ("sent", "deferred") for r in rows)

        await eventually(settled, what="both reports handled")
        quiet = await harness.deliveries(work_order_id="wo-quiet", channel="sms")
        assert quiet[0]["status"] == "deferred" and quiet[0]["due_at"] == NEXT_MORNING
        loud = await harness.deliveries(work_order_id="wo-urgent", channel="sms")
        assert loud[0]["status"] == "sent", dump(loud)
        # Staff alerts are not held: the owner's message went at 21:30 too.
        owner = await harness.deliveries(work_order_id="wo-quiet", channel="inbox")
        assert owner[0]["status"] == "sent"
        assert len(sms.requests) == 1
        await eventually(
            lambda: len(harness.events("notification.deferred")) == 1, what="deferred event"
        )
        deferred = harness.events("notification.deferred")[0]
        assert deferred.data["deferred_until"] == "2026-11-24T00:00:00Z"
        assert deferred.data["delivery_id"] == quiet[0]["id"]

        harness.clock.advance(NEXT_MORNING - EVENING - timedelta(seconds=1))
        assert harness.notify is not None
        assert await harness.notify.sender.run_once() == 0  # 07:59:59: still held
        assert len(sms.requests) == 1
        harness.clock.advance(timedelta(seconds=1))
        await eventually(lambda: len(sms.requests) == 2, what="the deferred SMS at 08:00")
        row = await recorded_as_sent(harness, work_order_id="wo-quiet", channel="sms")
        assert row["status"] == "sent" and row["sent_at"] == NEXT_MORNING


async def recorded_as_sent(harness: Harness, **where: Any) -> dict[str, Any]:
    """The first delivery matching `where` once it is recorded as sent: the receiver has a
    request before the sender has recorded the answer."""

    async def sent() -> bool:
        return await harness.first_status(**where) == "sent"

    await eventually(sent, what="the delivery recorded as sent")
    return (await harness.deliveries(**where))[0]


def owner_gets_breaches(url: str) -> NotifyConfig:
    """Breaches go to the owner by webhook; more than 5 a minute are digested."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={"cs-li": webhook_contact("李客服", f"{url}/cs-li", SECRET)},
                routes={
                    "workorder.reported": (),
                    "workorder.sla_clock_breached": (
                        RouteTarget(recipient="owner", template="sla_breached"),
                    ),
                },
                digest=DigestPolicy(threshold=5, window_seconds=60),
            )
        }
    )


async def test_a_storm_of_500_breaches_in_a_minute_becomes_digests_and_loses_no_item(
    harness: Harness,
) -> None:
    storm = 500
    async with http_receiver() as hooks:
        await harness.start(owner_gets_breaches(hooks.url), consumer_batch_size=250)
        due = harness.clock.now()
        for n in range(storm):
            await harness.publish(envelope(reported(), 1, work_order_id=f"wo-{n:03d}"))
            breach = SlaClockBreached(**sla_fields(), due_at=due, detected_at=due)
            await harness.publish(envelope(breach, 2, work_order_id=f"wo-{n:03d}"))

        async def all_planned() -> bool:
            return len(await harness.deliveries()) == storm

        await eventually(all_planned, within=120, what="every breach planned")
        await eventually(lambda: len(hooks.requests) == 5, what="the first five alone")
        rows = await harness.deliveries()
        assert sum(r["status"] == "digested" for r in rows) == storm - 5

        harness.clock.advance(timedelta(seconds=61))
        await eventually(lambda: len(hooks.requests) == 6, what="one digest for the window")

        bodies = [r.json() for r in hooks.requests]
        alone = {re.search(r"wo-\d{3}", b["subject"]).group() for b in bodies[:5]}  # type: ignore[union-attr]
        digest = bodies[5]
        listed = set(re.findall(r"wo-\d{3}", digest["text"]))
        assert len(listed) == storm - 5 and not (alone & listed)
        assert alone | listed == {f"wo-{n:03d}" for n in range(storm)}

        async def all_sent() -> bool:
            return all(r["status"] == "sent" for r in await harness.deliveries())

        await eventually(all_sent, what="the digest's items marked sent")
        await eventually(
            lambda: len(harness.events("notification.sent")) == 6, what="six sent events"
        )
        [digest_event] = [e for e in harness.events("notification.sent") if e.data["digest_items"]]
        assert len(digest_event.data["digest_items"]) == storm - 5
        assert digest_event.data["event_type"] == "digest"


async def test_a_failed_resident_message_whose_retry_falls_in_quiet_hours_waits_again(
    harness: Harness,
) -> None:
    before_nine = EVENING - timedelta(minutes=32)  # 20:58 in Asia/Shanghai
    retry_at = before_nine + timedelta(minutes=2)  # 21:00: quiet hours have begun
    harness.clock = ManualClock(before_nine)
    config = residents_by_sms().model_copy(
        update={"retry": {ChannelName.SMS: RetryPolicy(max_attempts=3, backoff_seconds=(120,))}}
    )
    async with http_receiver(statuses=[500]) as sms:
        await harness.start(config, sms_endpoint=f"{sms.url}/send", sms_api_key="k")
        await harness.publish(envelope(reported(), 1, work_order_id="wo-late", at=before_nine))

        async def failed_once() -> bool:
            rows = await harness.deliveries(channel="sms")
            return bool(rows) and rows[0]["status"] == "failed"

        await eventually(failed_once, what="the first attempt failed")
        assert (await harness.deliveries(channel="sms"))[0]["due_at"] == retry_at

        harness.clock.advance(retry_at - before_nine)

        async def deferred() -> bool:
            return await harness.first_status(channel="sms") == "deferred"

        await eventually(deferred, what="the retry held by quiet hours")
        row = (await harness.deliveries(channel="sms"))[0]
        assert row["due_at"] == NEXT_MORNING and row["attempts"] == 1, dump([row])
        assert len(sms.requests) == 1
        await eventually(
            lambda: len(harness.events("notification.deferred")) == 1, what="deferred event"
        )
        event = harness.events("notification.deferred")[0]
        assert event.data["deferred_until"] == "2026-11-24T00:00:00Z"
        assert (event.data["delivery_id"], event.data["attempts"]) == (row["id"], 1)
        assert event.data["reason"] == "quiet_hours"

        harness.clock.advance(NEXT_MORNING - retry_at - timedelta(seconds=1))
        assert harness.notify is not None
        await harness.notify.sender.run_once()  # 07:59:59: still held
        assert len(sms.requests) == 1
        harness.clock.advance(timedelta(seconds=1))
        await eventually(lambda: len(sms.requests) == 2, what="the retry at 08:00")
        row = await recorded_as_sent(harness, channel="sms")
        assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 2, NEXT_MORNING)
