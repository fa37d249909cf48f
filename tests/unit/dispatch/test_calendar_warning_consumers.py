"""`workorder.sla_calendar_unconfirmed` on the bus: a catalogue event that notify and
reporting take without a dead letter, sending nothing and changing no figure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notify.domain.config import TenantConfig
from services.notify.domain.routing import WorkOrderFacts, fold, plan
from services.reporting.domain.facts import EventFact, apply
from shared.consumer import catalogue_error
from shared.envelope import Envelope, envelope_json
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.events.sla import ClockName, SlaCalendarUnconfirmed
from tests.unit.notify.builders import PROJECT, reported

AT = datetime(2026, 12, 31, 6, 0, tzinfo=UTC)
WARNING = SlaCalendarUnconfirmed(
    clock=ClockName.REPLY,
    cycle=1,
    policy_version=1,
    elapsed_seconds=0.0,
    remaining_seconds=28800.0,
    due_at=datetime(2027, 1, 4, 6, 0, tzinfo=UTC),
    calendar="working_days",
    years=(2027,),
)


def envelope(data: dict[str, object]) -> Envelope:
    recorded = RecordedEvent(
        stream_id="wo-1",
        version=3,
        event_id=uuid.uuid4(),
        type_name=SlaCalendarUnconfirmed.type_name,
        schema_version=1,
        tenant="acme",
        project="sunny",
        occurred_at=AT,
        recorded_at=AT,
        data=data,
        metadata=EventMetadata(actor="cs-1", correlation_id="c-1"),
    )
    return Envelope.from_json(envelope_json(recorded, "dispatch"))


def test_the_warning_passes_the_catalogue_and_a_malformed_one_does_not() -> None:
    good = envelope(WARNING.model_dump(mode="json"))
    bad = envelope({**WARNING.model_dump(mode="json"), "years": []})

    assert catalogue_error(good) is None
    assert catalogue_error(bad) is not None


def test_notify_sends_nothing_for_the_warning_by_default() -> None:
    data = WARNING.model_dump(mode="json")
    facts = fold(WorkOrderFacts(), "workorder.reported", reported().model_dump(mode="json"))

    messages, unreached = plan(WARNING.type_name, data, facts, TenantConfig(), PROJECT)

    assert (messages, unreached) == ([], [])
    assert fold(facts, WARNING.type_name, data) == facts


def test_reporting_keeps_the_warning_in_the_history_without_changing_a_figure() -> None:
    report = reported().model_dump(mode="json")
    facts = apply(None, EventFact("workorder.reported", "wo-1", "acme", "sunny", 1, AT, report))
    assert facts is not None

    after = apply(
        facts,
        EventFact(
            WARNING.type_name, "wo-1", "acme", "sunny", 2, AT, WARNING.model_dump(mode="json")
        ),
    )

    assert after is not None
    assert after.version == 2
    assert {**after.__dict__, "version": 1} == facts.__dict__
