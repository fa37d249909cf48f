"""The append port's value: one inline value of each kind, and a number stamped everywhere."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.dispatch.domain.workorder import Numbering
from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.ports import (
    AppendBatch,
    IdempotencyRecord,
    LoadGuard,
    NewEvent,
    WorkOrderView,
)
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")
VIEW = WorkOrderView(
    "acme", "sunny", "repair", "plumbing", "normal", "reported", "cs-1", None, None, None, T0, {}
)


def test_an_append_carries_at_most_one_inline_value_of_each_kind() -> None:
    with pytest.raises(ValueError, match="one inline value of each kind"):
        AppendBatch("wo-1", 1, "acme", "sunny", (), META, inline=(LoadGuard("wang", 2),) * 2)


def test_a_number_is_stamped_in_the_report_the_listing_and_the_answer() -> None:
    report = NewEvent(uuid.uuid4(), "workorder.reported", 1, T0, {"description": "leak"})
    note = NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, T0, {"note": "x"})
    record = IdempotencyRecord("acme", "cs-1", "k-1", "fp", "wo-1", Effect.CREATED, {"id": "wo-1"})
    numbering = Numbering("SG", date(2026, 12, 1))
    batch = AppendBatch("wo-1", 0, "acme", "sunny", (report, note), META, record, (VIEW, numbering))

    stamped = batch.with_number("SG-20261201-0007")

    assert stamped.events[0].data == {"description": "leak", "number": "SG-20261201-0007"}
    assert stamped.events[1].data == {"note": "x"}
    view = stamped.inline_of(WorkOrderView)
    assert view is not None and view.number == "SG-20261201-0007"
    assert view.summary == {"number": "SG-20261201-0007"}
    assert stamped.idempotency is not None
    assert stamped.idempotency.response == {"id": "wo-1", "number": "SG-20261201-0007"}
    assert stamped.inline_of(Numbering) is None
    assert stamped.given_number() == "SG-20261201-0007"
    assert batch.given_number() is None
