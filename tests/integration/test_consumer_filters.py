"""A durable consumer with several filter subjects, and an existing durable moved to them."""

from __future__ import annotations

from nats.js import JetStreamContext

from services.notify.entrypoints.bootstrap import consumer_spec
from services.notify.settings import NotifySettings
from shared.consumer import ConsumerSpec, EventConsumer
from shared.subjects import EVENTS_STREAM
from tests.integration import test_consumer
from tests.integration.test_consumer import FAST, RecordingHandler, drain, publish_progress

js = test_consumer.js
"""The JetStream context fixture, shared with the consumer's own tests."""

NOTIFICATION_SUBJECT = "events.demo.sunny-garden.notification.sent"


def notify_like(durable: str) -> ConsumerSpec:
    """FAST's pacing with notify's filters."""
    filters = consumer_spec(NotifySettings()).filter_subjects
    return ConsumerSpec(
        durable=durable, filter_subjects=filters, max_deliver=3, backoff_seconds=(0.0,)
    )


async def test_notify_filters_out_its_own_notification_events(js: JetStreamContext) -> None:
    await js.publish(NOTIFICATION_SUBJECT, b'{"would": "be dead-lettered if fetched"}')
    ids = await publish_progress(js, 3)
    handler = RecordingHandler()

    await drain(EventConsumer(js, notify_like(FAST.durable), handler))

    assert handler.handled == ids
    assert handler.dead == []
    info = await js.consumer_info(EVENTS_STREAM, FAST.durable)
    assert info.num_pending == 0
    assert info.config.filter_subjects == list(notify_like(FAST.durable).filter_subjects)


async def test_an_existing_durable_is_moved_to_the_filters_without_replay(
    js: JetStreamContext,
) -> None:
    # A notify of the previous release read everything on events.> and acked the first
    # events (its own notification events included).
    before = await publish_progress(js, 2)
    await js.publish(NOTIFICATION_SUBJECT, b"{}")
    old = RecordingHandler()
    await drain(EventConsumer(js, FAST, old))
    assert old.handled == before
    after = await publish_progress(js, 2)
    await js.publish(NOTIFICATION_SUBJECT, b"{}")

    # The new release updates the same durable in place at start.
    handler = RecordingHandler()
    await drain(EventConsumer(js, notify_like(FAST.durable), handler))

    assert handler.handled == after  # nothing acked before comes again, nothing is skipped
    assert handler.dead == []
    info = await js.consumer_info(EVENTS_STREAM, FAST.durable)
    assert not info.config.filter_subject
    assert info.config.filter_subjects == list(notify_like(FAST.durable).filter_subjects)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
