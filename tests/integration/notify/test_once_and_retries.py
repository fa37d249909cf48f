"""Each message is delivered once: redeliveries, retries, dead letters, and going on after them."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from sqlalchemy import delete

from services.notify.adapters import queries
from services.notify.adapters import tables as t
from services.notify.adapters.queries import Scope
from services.notify.domain.config import (
    NotifyConfig,
    RouteTarget,
    TenantConfig,
)
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from services.notify.service_layer.dead_letters import retry_dead_letter
from shared.auth import Role
from shared.consumer import Delivery
from shared.errors import Conflict
from shared.events.workorder import Assigned
from tests.integration.notify.conftest import Harness, dump, token, webhook_contact
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, reported

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def owner_by_webhook(url: str, attempts: int = 3) -> NotifyConfig:
    """Only the owner hears of a report, by webhook; quick retries."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={
                    "cs-li": webhook_contact("李客服", f"{url}/cs-li", SECRET),
                    "cs-ok": webhook_contact("OK", f"{url}/cs-ok", SECRET),
                },
                routes={
                    "workorder.reported": (
                        RouteTarget(recipient="owner", template="reported_owner"),
                    ),
                    "workorder.assigned": (RouteTarget(recipient="owner", template="assigned"),),
                },
            )
        },
        retry={ChannelName.WEBHOOK: RetryPolicy(max_attempts=attempts, backoff_seconds=(1.0,))},
    )


async def consumer_idle(harness: Harness) -> bool:
    """The durable consumer has nothing pending or unacked."""
    assert harness.bus is not None
    try:
        # nats-py leaves consumer_info unannotated; it answers a ConsumerInfo.
        info: ConsumerInfo = await harness.bus.jetstream().consumer_info("EVENTS", "notify")
    except NotFoundError:
        return False  # not created yet
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_redelivery_of_the_same_event_sends_nothing_twice(harness: Harness) -> None:
    async with http_receiver() as hooks:
        notify = await harness.start(owner_by_webhook(hooks.url))
        event = envelope(reported(), 1)
        await harness.publish(event)
        await eventually(lambda: len(hooks.requests) == 1, what="the first send")

        # A duplicate publish that JetStream's dedup window does not catch.
        await harness.publish(event, msg_id="another-msg-id")
        await eventually(lambda: consumer_idle(harness), what="the duplicate consumed")

        # A restart that lost every ack: the durable consumer starts over from the first event.
        await harness.stop()
        assert harness.bus is not None
        await harness.bus.jetstream().delete_consumer("EVENTS", "notify")
        notify = await harness.start(owner_by_webhook(hooks.url))
        await eventually(lambda: consumer_idle(harness), what="the replay consumed")

        # Even with the work order's facts lost, the (event, recipient, channel) key holds.
        async with notify.engine.begin() as conn:
            await conn.execute(delete(t.work_orders))
        await notify.handler.handle([Delivery(event, event.nats_subject(), 1, 5)])
        notify.wake_sender()

        rows = await harness.deliveries()
        assert len(rows) == 1, dump(rows)
        assert rows[0]["status"] == "sent"
        assert len(hooks.requests) == 1


async def test_a_receiver_answering_500_then_200_gets_the_message_once(harness: Harness) -> None:
    async with http_receiver(statuses=[500]) as hooks:
        await harness.start(owner_by_webhook(hooks.url))
        await harness.publish(envelope(reported(), 1))

        async def failed_once() -> bool:
            rows = await harness.deliveries()
            return bool(rows) and rows[0]["status"] == "failed"

        await eventually(failed_once, what="the first attempt to fail")
        harness.clock.advance(timedelta(seconds=2))

        async def sent() -> bool:
            return await harness.first_status() == "sent"

        await eventually(sent, what="the retry to succeed")
        row = (await harness.deliveries())[0]
        assert row["attempts"] == 2 and "500" in row["last_error"]
        assert [r.headers["webhook-id"] for r in hooks.requests] == [row["id"], row["id"]]
        await eventually(lambda: len(harness.events("notification.sent")) == 1, what="sent event")
        failed = harness.events("notification.failed")
        sent_event = harness.events("notification.sent")[0]
        assert len(failed) == 1 and failed[0].sequence == 1 and sent_event.sequence == 2
        assert sent_event.data["attempts"] == 2


async def test_an_always_failing_receiver_ends_dead_and_the_consumer_keeps_going(
    harness: Harness,
) -> None:
    async with http_receiver(default_status=500) as hooks:
        notify = await harness.start(owner_by_webhook(hooks.url, attempts=2))
        await harness.publish(envelope(reported(), 1, work_order_id="wo-dead"))

        async def status(work_order_id: str, wanted: str) -> bool:
            rows = await harness.deliveries(work_order_id=work_order_id)
            return bool(rows) and rows[0]["status"] == wanted

        await eventually(lambda: status("wo-dead", "failed"), what="a failed attempt")
        harness.clock.advance(timedelta(seconds=2))
        await eventually(lambda: status("wo-dead", "dead"), what="the delivery to die")

        # The consumer goes on: a later event to a receiver that works is delivered.
        hooks.default_status = 200
        later = reported().model_copy(update={"owner": "cs-ok"})
        await harness.publish(envelope(later, 1, work_order_id="wo-later"))
        await eventually(lambda: status("wo-later", "sent"), what="the later event")

        await eventually(lambda: len(harness.events("notification.dead")) == 1, what="dead event")
        async with harness.api() as api:
            listed = await api.get("/v1/dead-letters", headers=token(Role.SUPERVISOR, "sup-chen"))
            assert listed.status_code == 200
            [letter] = listed.json()
            assert letter["kind"] == "delivery" and "500" in letter["error"]
            assert letter["attempts"] == 2

            # The retry command sends it again from the first attempt.
            retried = await api.post(
                f"/v1/dead-letters/{letter['id']}/retry",
                headers=token(Role.SUPERVISOR, "sup-chen"),
            )
            assert retried.status_code == 200, retried.text
            await eventually(lambda: status("wo-dead", "sent"), what="the retried delivery")
            again = await api.post(
                f"/v1/dead-letters/{letter['id']}/retry",
                headers=token(Role.SUPERVISOR, "sup-chen"),
            )
            assert again.status_code == 409
            assert again.json()["code"] == "already_retried"
        assert notify.consumer is not None


async def test_an_event_that_keeps_failing_is_dead_lettered_and_can_be_retried(
    harness: Harness,
) -> None:
    async with http_receiver() as hooks:
        await harness.start(
            owner_by_webhook(hooks.url),
            consumer_backoff_seconds=(0.05,),
            consumer_wait_seconds=0.05,
            consumer_max_waits=3,
        )
        # The assignment of a work order notify has not seen reported: it waits for the
        # report (`NotYet`) until it has waited `consumer_max_waits` deliveries.
        await harness.publish(envelope(Assigned(assignee="tech-wang"), 2, work_order_id="wo-gap"))
        # A body that is not an event envelope at all.
        assert harness.bus is not None
        await harness.bus.jetstream().publish(
            "events.demo.sunny-garden.workorder.reported", b"not json"
        )
        headers = token(Role.PROJECT_MANAGER, "pm-zhou")
        notify = harness.notify
        assert notify is not None
        everyone = Scope(tenant=None, projects=None)  # the operator's CLI

        async def two_letters() -> bool:
            listed = await queries.list_dead_letters(
                notify.engine, everyone, kind="event", include_retried=False, limit=10
            )
            return len(listed) == 2

        await eventually(two_letters, what="two event dead letters")
        async with harness.api() as api:
            # The body that is no envelope names no tenant: the tenant never sees it.
            [gap] = (await api.get("/v1/dead-letters?kind=event", headers=headers)).json()
            assert "sequence 2" in gap["error"] and gap["attempts"] == 3
            [garbage] = [
                x
                for x in await queries.list_dead_letters(
                    notify.engine, everyone, kind="event", include_retried=False, limit=10
                )
                if x["event_id"] is None
            ]
            assert "not a valid event envelope" in garbage["error"]
            assert "data" not in garbage and "not json" not in str(garbage)

            # Once the report arrives the assignment can be applied: retry it.
            await harness.publish(envelope(reported(), 1, work_order_id="wo-gap"))
            await eventually(lambda: len(hooks.requests) == 1, what="the report's message")
            retried = await api.post(f"/v1/dead-letters/{gap['id']}/retry", headers=headers)
            assert retried.json() == {"status": "retried", "outcome": "event applied"}
            await eventually(lambda: len(hooks.requests) == 2, what="the assignment's message")
            hidden = await api.post(f"/v1/dead-letters/{garbage['id']}/retry", headers=headers)
            assert hidden.status_code == 404
            with pytest.raises(Conflict) as refused:
                await retry_dead_letter(
                    notify.dead_letters, notify.handler, notify.clock, int(garbage["id"])
                )
            assert refused.value.code == "not_retryable"
            missing = await api.post("/v1/dead-letters/999999/retry", headers=headers)
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"


async def test_a_slow_receiver_does_not_hold_back_other_deliveries(harness: Harness) -> None:
    async with http_receiver(delay_seconds=3.0) as slow, http_receiver() as fast:
        config = NotifyConfig(
            tenants={
                TENANT: TenantConfig(
                    contacts={
                        "cs-li": webhook_contact("李客服", f"{slow.url}/li", SECRET),
                        "cs-ok": webhook_contact("OK", f"{fast.url}/ok", SECRET),
                    },
                    routes={
                        "workorder.reported": (
                            RouteTarget(recipient="owner", template="reported_owner"),
                        )
                    },
                )
            }
        )
        await harness.start(config, sender_round_seconds=0.2)
        await harness.publish(envelope(reported(), 1, work_order_id="wo-slow"))
        await eventually(lambda: len(slow.requests) == 1, what="the slow send to start")
        later = reported().model_copy(update={"owner": "cs-ok"})
        await harness.publish(envelope(later, 1, work_order_id="wo-fast"))

        async def status(work_order_id: str) -> str:
            return str((await harness.deliveries(work_order_id=work_order_id))[0]["status"])

        async def fast_sent() -> bool:
            rows = await harness.deliveries(work_order_id="wo-fast")
            return bool(rows) and rows[0]["status"] == "sent"

        await eventually(fast_sent, what="the fast delivery")
        # Recorded while the slow receiver still has not answered.
        assert await status("wo-slow") == "queued"
        assert len(fast.requests) == 1

        async def slow_sent() -> bool:
            return await status("wo-slow") == "sent"

        await eventually(slow_sent, what="the slow delivery, once answered")
        assert len(slow.requests) == 1
