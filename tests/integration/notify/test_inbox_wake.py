"""Two notify processes on one database and bus: a message one of them writes into an
inbox wakes the stream the other serves, through NATS rather than its safety poll."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace

import httpx

from services.notify.adapters.channels.inbox import InboxChannel
from services.notify.entrypoints import bootstrap
from services.notify.service_layer.ports import OutboundMessage
from shared.auth import Role
from tests.integration.notify.conftest import Harness, token
from tests.integration.notify.support import eventually
from tests.integration.notify.test_api import INBOX_ONLY, served
from tests.integration.notify.test_robots_and_sms import message


def inbox_message(person: str) -> OutboundMessage:
    return replace(
        message(),
        delivery_id=f"d-{person}",
        recipient=f"person:{person}",
        address=person,
        subject="工单已派出",
    )


async def test_a_message_written_by_another_process_wakes_the_stream_over_nats(
    harness: Harness,
) -> None:
    # An hour between polls: only a wake-up can bring the message within the test.
    serving = await harness.start(INBOX_ONLY, inbox_poll_seconds=3600.0)
    writing = await bootstrap.start(serving.settings, harness.clock)
    try:
        await eventually(
            lambda: serving.broker.attached and writing.broker.attached, what="both on the bus"
        )
        lines: list[str] = []
        async with served(harness) as url, httpx.AsyncClient(base_url=url) as client:

            async def listen() -> None:
                headers = token(Role.TECHNICIAN, "tech-wang")
                async with client.stream("GET", "/v1/inbox/stream", headers=headers) as response:
                    async for line in response.aiter_lines():
                        lines.append(line)

            listener = asyncio.create_task(listen())
            await eventually(lambda: ": inbox stream" in lines, what="the stream open")
            # Another person's message does not concern this stream.
            other_process = InboxChannel(writing.engine, harness.clock, writing.broker)
            await other_process.send(inbox_message("tech-zhao"))
            await other_process.send(inbox_message("tech-wang"))
            await eventually(
                lambda: any(line.startswith("data: ") for line in lines), what="the wake-up"
            )
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        data = [
            json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")
        ]
        assert [(m["subject"], m["work_order_id"]) for m in data] == [("工单已派出", "wo-1")]
        assert ": keep-alive" not in lines  # no poll ran
    finally:
        await bootstrap.stop(writing)
