"""notify running for real: its database, a real nats-server, the real loops."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.migrate import upgrade
from services.notify.domain.config import Contact, Endpoint, NotifyConfig
from services.notify.domain.model import ChannelName
from services.notify.entrypoints import bootstrap
from services.notify.entrypoints.app import create_app
from services.notify.settings import NotifySettings
from shared.auth import Role, mint_token
from shared.clock import ManualClock
from shared.database import create_engine
from shared.envelope import Envelope
from shared.nats import connect_with_streams
from shared.settings import DEV_JWT_SECRET
from shared.subjects import EVENTS_STREAM, KPI_STREAM
from tests.integration.notify.support import SmtpReceiver, smtp_receiver
from tests.openapi_support import keep_to_document
from tests.unit.notify.builders import PHONE, PROJECT, RESIDENT, T0, TENANT
from wo.processes import NatsServer


@dataclass
class Harness:
    """One notify under test, with what it published on the bus."""

    tmp_path: Path
    nats_url: str
    database_url: str
    clock: ManualClock
    smtp: SmtpReceiver
    bus: Client | None = None
    published: list[Envelope] = field(default_factory=list)
    sent_in_order: dict[str, int] = field(default_factory=dict)
    """The ids of the events the test published, each with its place in the sequence."""
    notify: bootstrap.Notify | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    dispatch: FakeDispatch = field(default_factory=lambda: FakeDispatch())
    """Stands in for dispatch's contact API: notify asks it for residents' phones."""

    async def start(self, config: NotifyConfig, **settings: Any) -> bootstrap.Notify:
        """Start notify with `config` (as its JSON file) and settings overrides."""
        path = self.tmp_path / "notify.json"
        path.write_text(config.model_dump_json(), encoding="utf-8")
        values: dict[str, Any] = {
            "environment": "development",
            "database_url": self.database_url,
            "nats_url": self.nats_url,
            "notify_config_file": path,
            "sender_poll_seconds": 0.05,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp.port,
            "consumer_max_deliver": 3,
            "dispatch_url": "http://dispatch",
        }
        values.update(self.overrides)
        values.update(settings)
        self.notify = await bootstrap.start(
            NotifySettings(**values),
            self.clock,
            dispatch_transport=httpx.MockTransport(self.dispatch.answer),
        )
        if self.bus is None:
            # As the services connect: a server that stalls past a request's timeout (a
            # loaded machine) is waited out with back-off, not a failed setup.
            self.bus = await connect_with_streams(
                self.nats_url, "notify-test", owns=(EVENTS_STREAM, KPI_STREAM)
            )

            async def collect(msg: Msg) -> None:
                self.published.append(Envelope.from_json(msg.data))

            await self.bus.subscribe("events.*.*.notification.>", cb=collect)
        return self.notify

    async def stop(self) -> None:
        """Stop notify (the bus connection of the test stays)."""
        if self.notify is not None:
            await bootstrap.stop(self.notify)
            self.notify = None

    async def publish(self, envelope: Envelope, msg_id: str | None = None) -> None:
        """Publish an event as dispatch's relay does."""
        assert self.bus is not None
        self.sent_in_order.setdefault(str(envelope.id), len(self.sent_in_order))
        await self.bus.jetstream().publish(
            envelope.nats_subject(),
            envelope.to_json(),
            headers={"Nats-Msg-Id": msg_id or str(envelope.id)},
        )

    async def deliveries(self, **where: Any) -> list[dict[str, Any]]:
        """Delivery rows (optionally filtered by column values), oldest first.

        The manual clock stamps every row made in one step with the same `created_at`, and a
        database hands such ties back in no set order (PostgreSQL's by where each row's
        latest version lies, so a row the sender updated moves behind the others): ties go
        by the order the test published their events in."""
        assert self.notify is not None
        d = t.deliveries
        query = select(d).where(*(d.c[k] == v for k, v in where.items()))
        async with self.notify.engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        unpublished = len(self.sent_in_order)

        def age(row: dict[str, Any]) -> tuple[datetime, int, str]:
            place = self.sent_in_order.get(str(row["event_id"]), unpublished)
            return row["created_at"], place, row["dedup_key"]

        return sorted(rows, key=age)

    async def first_status(self, **where: Any) -> str:
        """The status of the oldest delivery matching `where` (`deliveries`' first)."""
        status: str = (await self.deliveries(**where))[0]["status"]
        return status

    def events(self, type_name: str) -> list[Envelope]:
        """Notification events seen on the bus of one type."""
        return [e for e in self.published if e.type_name == type_name]

    def api(self) -> httpx.AsyncClient:
        """An HTTP client on notify's app (the running notify as its state)."""
        assert self.notify is not None
        app = create_app(self.notify.settings, self.clock)
        app.state.notify = self.notify
        app.state.token_verifier = self.notify.verifier
        # Every answer a test provokes is held to the OpenAPI document.
        _, hooks = keep_to_document(app)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://notify", event_hooks=hooks
        )


@dataclass
class FakeDispatch:
    """dispatch's `GET /v1/residents/{ref}/contact`: 张三's phone, a resident erased (410),
    or down (503); it remembers what it was asked, with which token."""

    phones: dict[str, str | None] = field(default_factory=lambda: {RESIDENT: PHONE})
    erased: set[str] = field(default_factory=set)
    down: bool = False
    asked: list[httpx.Request] = field(default_factory=list)

    def answer(self, request: httpx.Request) -> httpx.Response:
        """The answer dispatch would give."""
        self.asked.append(request)
        resident = request.url.path.split("/")[3]
        if self.down:
            return httpx.Response(503, json={"code": "unavailable"})
        if resident in self.erased:
            return httpx.Response(410, json={"code": "resident_erased"})
        if resident not in self.phones:
            return httpx.Response(404, json={"code": "unknown_resident"})
        body = {"resident": resident, "name": "张三", "phone": self.phones[resident]}
        return httpx.Response(200, json={**body, "unit": "1-101", "detail": None, "erased": False})


def token(role: Role, subject: str, projects: list[str] | None = None) -> dict[str, str]:
    """An Authorization header for a development token."""
    value = mint_token(
        secret=DEV_JWT_SECRET,
        subject=subject,
        role=role,
        tenant=TENANT,
        projects=projects or [PROJECT],
        issuer="workorders-dev",
        audience="workorders",
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """notify's database, migrated, on its own engine."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """A real SMTP server on loopback."""
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture
async def harness(
    tmp_path: Path, nats_server: NatsServer, database_url: str, smtp: SmtpReceiver
) -> AsyncIterator[Harness]:
    """A notify harness at 10:00 Shanghai time on a manual clock; stopped after the test."""
    h = Harness(tmp_path, nats_server.url, database_url, ManualClock(T0), smtp)
    yield h
    await h.stop()
    if h.bus is not None:
        await h.bus.drain()


def dump(rows: list[dict[str, Any]]) -> str:
    """Rows as text for assertion messages."""
    return json.dumps(rows, default=str, ensure_ascii=False, indent=1)


def webhook_contact(name: str, url: str, secret: str, language: str = "zh-CN") -> Contact:
    """A staff member reached by a signed webhook only."""
    return Contact(
        name=name,
        language=language,
        channels=(ChannelName.WEBHOOK,),
        webhook=Endpoint(url=url, secret=secret),
    )


@pytest.fixture
def log_output(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Everything logged while the test runs: structlog's rendered lines (tracebacks
    included) and the standard library's records."""
    processors: list[Any] = structlog.get_config()["processors"]
    renderer = processors[-1]
    lines: list[str] = []

    def recording(logger: Any, method: str, event: Any) -> Any:
        rendered = renderer(logger, method, event)
        lines.append(str(rendered))
        return rendered

    # The configured list itself: loggers cached on first use share it.
    processors[-1] = recording
    caplog.set_level(logging.DEBUG)
    try:
        yield lambda: "\n".join(lines) + "\n" + caplog.text
    finally:
        processors[-1] = renderer
