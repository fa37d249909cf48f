"""notify's dead letters: bad data dead at once, each tenant sees its own, no personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.adapters import queries
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.queries import Scope
from services.notify.adapters.tracking import SqlTrackingRecorder
from services.notify.domain.config import NotifyConfig
from services.notify.service_layer.ports import NewDeadLetter, NotifyBatch
from shared.auth import Role, mint_token
from shared.clock import ManualClock
from shared.database import create_engine
from shared.envelope import Envelope
from shared.events.workorder import Assigned
from shared.settings import DEV_JWT_SECRET
from shared.tracking import Tracking
from tests.integration.notify.conftest import Harness, token
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import PROJECT, T0, TENANT, envelope, reported

OTHER = "other-estates"
EVERYONE = Scope(tenant=None, projects=None)  # the platform operator's CLI
PERSONAL = ("13800000000", "张三")


def _nothing(_batch: NotifyBatch) -> None:
    """A batch that applies nothing: only its dead letter is recorded."""


def _token_of(tenant: str) -> dict[str, str]:
    value = mint_token(
        secret=DEV_JWT_SECRET,
        subject="sup-1",
        role=Role.SUPERVISOR,
        tenant=tenant,
        projects=["*"],
        issuer="workorders-dev",
        audience="workorders",
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {value}"}


def _without_kind(event: Envelope) -> Envelope:
    """A well-formed envelope whose data the catalogue refuses (no `kind`)."""
    return event.model_copy(update={"data": {k: v for k, v in event.data.items() if k != "kind"}})


async def test_bad_data_is_dead_at_once_and_each_tenant_sees_only_its_own_letters(
    harness: Harness,
) -> None:
    notify = await harness.start(NotifyConfig())
    await harness.publish(_without_kind(envelope(reported(), 1, work_order_id="wo-bad")))
    await harness.publish(envelope(Assigned(assignee="tech-wang"), 2, work_order_id="wo-bad"))
    await harness.publish(
        _without_kind(envelope(reported(), 1, work_order_id="wo-theirs", tenant=OTHER))
    )
    assert harness.bus is not None
    await harness.bus.jetstream().publish(
        f"events.{TENANT}.{PROJECT}.workorder.reported",
        b'{"name": "\xe5\xbc\xa0\xe4\xb8\x89", "phone": "13800000000"}',
    )

    async def listed() -> list[dict[str, object]]:
        return await queries.list_dead_letters(
            notify.engine, EVERYONE, kind="event", include_retried=False, limit=10
        )

    async def three() -> bool:
        return len(await listed()) == 3

    await eventually(three, what="three event dead letters")
    # The order goes on past the event it could never apply.
    await eventually(
        lambda: harness.deliveries(recipient="person:tech-wang"), what="the assignment's message"
    )

    async with harness.api() as api:
        ours = await api.get("/v1/dead-letters?kind=event", headers=token(Role.SUPERVISOR, "s"))
        theirs = await api.get("/v1/dead-letters?kind=event", headers=_token_of(OTHER))
    [letter] = ours.json()
    assert (letter["tenant"], letter["attempts"]) == (TENANT, 1)
    assert letter["error"].startswith("invalid event data: kind: Field required")
    [their_letter] = theirs.json()
    assert their_letter["tenant"] == OTHER
    assert their_letter["event_id"] != letter["event_id"]

    # The body with no envelope is the operator's only, and says nothing of its content.
    [unknown] = [x for x in await listed() if x["tenant"] is None]
    assert "data" not in unknown
    for text in (ours.text, theirs.text, str(await listed())):
        assert not any(value in text for value in PERSONAL)


async def test_a_dead_letter_is_keyed_by_its_event_not_its_stream_sequence(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    recorder = SqlTrackingRecorder(engine, ManualClock(T0))

    def letter(key: str, at: datetime) -> NewDeadLetter:
        return NewDeadLetter(
            key=key,
            kind="event",
            error="invalid event data: kind: Field required",
            attempts=1,
            at=at,
            tenant=TENANT,
            project=PROJECT,
            subject=f"events.{TENANT}.{PROJECT}.workorder.reported",
            stream_sequence=7,
            event_id=key.removeprefix("event:"),
        )

    try:
        for key, at in (("event:old", T0), ("event:new", T0), ("event:old", T0 + timedelta(1))):
            await recorder.record(Tracking("notify", 7), _nothing, [letter(key, at)])
        rows = await queries.list_dead_letters(
            engine, EVERYONE, kind=None, include_retried=False, limit=10
        )
        # The stream was lost and sequence 7 reused: both letters are kept; the old one's
        # redelivery updates it instead of adding a third.
        assert sorted((r["event_id"], r["created_at"]) for r in rows) == [
            ("new", T0),
            ("old", T0 + timedelta(1)),
        ]
    finally:
        await engine.dispose()
