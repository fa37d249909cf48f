"""The contract grows without breaking readers; what clients send stays strict."""

from __future__ import annotations

import uuid

import orjson
import pytest
from pydantic import ValidationError

from services.dispatch.domain.commands import ReportWorkOrder
from shared.envelope import Envelope
from shared.events.catalogue import JsonObject, parse
from shared.events.workorder import WorkOrderReported

REPORTED: JsonObject = {
    "kind": "repair",
    "category": "plumbing",
    "urgency": "normal",
    "location": {"building": "b1", "unit": "1-101", "detail": None},
    "reporter": {"name": "张三", "phone": None, "resident_id": None},
    "channel": "phone",
    "description": "漏水",
    "owner": "cs-li",
}


def test_an_event_from_a_newer_producer_with_extra_fields_still_parses() -> None:
    newer = {**REPORTED, "priority_score": 7, "location": {**REPORTED["location"], "floor": 12}}

    event = parse("workorder.reported", newer)

    assert isinstance(event, WorkOrderReported)
    assert event.location.building == "b1"


def test_an_envelope_with_an_unknown_extension_attribute_still_parses() -> None:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/dispatch",
        "type": "workorder.reported.v1",
        "subject": "wo-1",
        "time": "2026-03-02T02:00:00Z",
        "datacontenttype": "application/json",
        "data": REPORTED,
        "tenant": "demo",
        "project": "sunny-garden",
        "sequence": 1,
        "correlationid": "c",
        "causationid": None,
        "actor": "cs-li",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }

    envelope = Envelope.from_json(orjson.dumps(body))

    assert envelope.sequence == 1


def test_a_report_with_an_unknown_nested_field_is_refused() -> None:
    body = {
        "project": "sunny-garden",
        "kind": "repair",
        "category": "plumbing",
        "location": {"building": "b1", "flor": 12},
        "reporter": {"name": "张三"},
        "channel": "phone",
        "description": "漏水",
    }

    with pytest.raises(ValidationError, match="flor"):
        ReportWorkOrder.model_validate(body)
