"""Reading a JetStream pull consumer in batches, for a bulk replay.

nats-py's `PullSubscription.fetch` waits for each message of a batch with its own task and
timeout: measured on a replay of 100,000 events, 26 µs of CPU a message, as much as the
replay's whole fold. `BatchPull` speaks the same pull protocol (a `CONSUMER.MSG.NEXT`
request for a batch, answered on an inbox, a status message ending it early) through a
plain subscription whose callback only collects the messages: 5 µs a message. It also asks
for the next batch as soon as one is complete, so that the server reads it while the
caller folds the last one.

One request is outstanding at a time (the consumer's `max_waiting` may be 1).
"""

from __future__ import annotations

import asyncio

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import DEFAULT_PREFIX, Header, StatusCode

from shared.tasks import woken

REQUEST_ENDED = frozenset({StatusCode.NO_MESSAGES.value, StatusCode.REQUEST_TIMEOUT.value})
"""Statuses that end a pull request with fewer messages than asked for."""


class PullFailed(NatsError):
    """The server refused or cut off a pull request (the consumer deleted, for one)."""


class BatchPull:
    """The messages of the pull consumer `consumer` on `stream`, a batch at a time."""

    def __init__(self, client: Client, stream: str, consumer: str) -> None:
        self.consumer = consumer
        self._client = client
        self._next_subject = f"{DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = client.new_inbox()
        self._subscription: Subscription | None = None
        self._arrived: list[Msg] = []
        self._asked = 0
        """Messages the outstanding request may still bring (0: none outstanding)."""
        self._complete = asyncio.Event()
        self._failure: str | None = None

    async def __aenter__(self) -> BatchPull:
        self._subscription = await self._client.subscribe(self._inbox, cb=self._collect)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _collect(self, message: Msg) -> None:
        status = message.headers.get(Header.STATUS) if message.headers else None
        if status is None:
            self._arrived.append(message)
            self._asked -= 1
        else:
            if status not in REQUEST_ENDED:
                self._failure = _refusal(status, message)
            self._asked = 0
        if self._asked <= 0:
            self._complete.set()

    async def _ask(self, size: int, expires: float) -> None:
        self._asked = size
        self._complete.clear()
        request = {"batch": size, "expires": int(expires * 1_000_000_000)}
        await self._client.publish(self._next_subject, orjson.dumps(request), reply=self._inbox)

    async def fetch(self, size: int, *, ahead: int = 0, expires: float = 5.0) -> list[Msg]:
        """The next at most `size` messages: fewer if the server had no more within
        `expires` seconds (raises `nats.errors.TimeoutError` when it had none). `ahead`
        more are asked for at once, for the next call."""
        if self._asked <= 0 and not self._arrived:
            await self._ask(size, expires)
        if not await woken(self._complete, expires + 5.0):
            self._asked = 0  # no answer (the connection was lost): the next call asks again
            raise NatsTimeoutError
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise PullFailed(f"pull request refused: {failure}")
        batch, self._arrived = self._arrived[:size], self._arrived[size:]
        if ahead > 0 and not self._arrived:
            await self._ask(ahead, expires)
        if not batch:
            raise NatsTimeoutError
        return batch


def _refusal(status: str, message: Msg) -> str:
    if status == StatusCode.SERVICE_UNAVAILABLE.value:
        return f"status {status} no responders: the consumer or its stream is gone"
    text = (message.headers or {}).get(Header.DESCRIPTION, "")
    return f"status {status} {(text.strip().splitlines() or [''])[0]}".strip()
