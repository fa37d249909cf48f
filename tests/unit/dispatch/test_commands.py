"""Commands as request bodies: their names are URL segments and their values are checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.dispatch.domain.commands import (
    WORK_ORDER_COMMANDS,
    Arrive,
    MakeCommitment,
    RecordFollowUp,
    ReportWorkOrder,
)
from shared.events.workorder import Urgency

from .builders import report


def test_work_order_commands_are_keyed_by_their_url_segment() -> None:
    assert all(name == cls.name for name, cls in WORK_ORDER_COMMANDS.items())
    assert set(WORK_ORDER_COMMANDS) == {
        "accept-offer",
        "agree-arrival-delay",
        "arrive",
        "assign",
        "cancel",
        "change-urgency",
        "close",
        "complete",
        "decline-offer",
        "give-feedback",
        "hand-back",
        "make-commitment",
        "mark-complaint",
        "miss-appointment",
        "pause",
        "postpone",
        "reassign",
        "reopen",
        "request-transfer",
        "report-progress",
        "record-follow-up",
        "record-no-visit-needed",
        "resume",
        "schedule-appointment",
        "start-work",
        "transfer-owner",
    }
    assert "report" not in WORK_ORDER_COMMANDS


def test_report_defaults_to_normal_urgency_an_empty_location_and_no_owner() -> None:
    command = ReportWorkOrder.model_validate(
        {
            "project": "sunny-garden",
            "kind": "repair",
            "category": "plumbing",
            "reporter": {"name": "王女士"},
            "channel": "wechat",
            "description": "漏水",
        }
    )

    assert command.urgency is Urgency.NORMAL
    assert command.location.model_dump() == {"building": None, "unit": None, "detail": None}
    assert command.owner is None


def test_project_must_be_a_slug() -> None:
    with pytest.raises(ValidationError):
        ReportWorkOrder.model_validate({**report().model_dump(), "project": "Sunny Garden"})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        Arrive.model_validate({"when": "now"})


@pytest.mark.parametrize("rating", [0, 6])
def test_follow_up_rating_is_one_to_five(rating: int) -> None:
    with pytest.raises(ValidationError):
        RecordFollowUp(rating=rating)


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValidationError):
        MakeCommitment.model_validate({"due_at": "2024-05-03T18:00:00"})


@pytest.mark.parametrize(
    ("part", "field", "value"),
    [
        ("reporter", "resident", "rsd_aaaaaaaaaaaaaaaaaaaaaaaa"),
        ("reporter", "sealed", {"name": "pd1.1.AAAA"}),
        ("location", "sealed", {"unit": "pd1.1.AAAA"}),
    ],
)
def test_a_report_may_not_bring_a_reference_or_tokens_dispatch_alone_writes(
    part: str, field: str, value: object
) -> None:
    body: dict[str, object] = {
        "project": "sunny-garden",
        "kind": "repair",
        "category": "plumbing",
        "reporter": {"name": "王女士"},
        "location": {"unit": "1202"},
        "channel": "wechat",
        "description": "漏水",
    }
    body[part] = {**body[part], field: value}  # type: ignore[dict-item]

    with pytest.raises(ValidationError, match=field):
        ReportWorkOrder.model_validate(body)
