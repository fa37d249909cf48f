"""Work-order numbers: the short number people read, per project and local day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.dispatch.domain.commands import ProjectDetailsInput
from services.dispatch.domain.workorder import (
    Numbering,
    fold,
    is_order_number,
    local_day,
    order_number,
    project_code,
)
from shared.events.workorder import (
    Channel,
    Location,
    Reporter,
    Urgency,
    WorkOrderKind,
    WorkOrderReported,
)

SHANGHAI = "Asia/Shanghai"


def test_a_number_is_code_local_day_and_a_four_digit_sequence() -> None:
    assert order_number("SG", date(2026, 12, 1), 42) == "SG-20261201-0042"
    assert order_number("SG", date(2026, 12, 1), 12345) == "SG-20261201-12345"
    assert is_order_number("SG-20261201-0042")
    assert is_order_number("SG-20261201-12345")


@pytest.mark.parametrize("value", ["sg-20261201-0042", "SG-2026121-0042", "SG-20261201-42", ""])
def test_what_is_not_a_number_is_recognised(value: str) -> None:
    assert not is_order_number(value)


def test_a_day_counts_from_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        order_number("SG", date(2026, 12, 1), 0)


def test_the_local_day_turns_at_midnight_in_shanghai_not_at_midnight_utc() -> None:
    before_midnight = datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    after_midnight = datetime(2026, 12, 1, 16, 0, 1, tzinfo=UTC)  # 00:00:01 next day

    first = Numbering("SG", local_day(before_midnight, SHANGHAI))
    second = Numbering("SG", local_day(after_midnight, SHANGHAI))

    assert first.number(7) == "SG-20261201-0007"
    # The next day's counter is another one: its sequence starts again at 1.
    assert second.number(1) == "SG-20261202-0001"
    assert first != second


def test_an_early_morning_report_belongs_to_the_local_day() -> None:
    # 07:30 in Shanghai is 23:30 UTC of the day before.
    assert local_day(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), SHANGHAI) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("project", "code"),
    [
        ("sunny-garden", "SG"),
        ("sunny_river_garden", "SRG"),
        ("demo", "DEMO"),
        ("riverside-gardens-phase-two", "RGPT"),
        ("verylongprojectname", "VERYLONG"),
        ("2nd-tower", "T"),
        ("123", "WO"),
    ],
)
def test_a_project_without_a_code_gets_one_from_its_id(project: str, code: str) -> None:
    assert project_code(project, None) == code


def test_a_registered_code_wins() -> None:
    assert project_code("sunny-garden", "SUNNY") == "SUNNY"


@pytest.mark.parametrize("code", ["sg", "1SG", "SG-1", "ABCDEFGHI", ""])
def test_a_project_code_is_capital_letters_and_digits(code: str) -> None:
    with pytest.raises(ValidationError):
        ProjectDetailsInput(name="阳光花园", households=10, code=code)


def test_the_number_recorded_in_the_report_is_the_orders_on_replay() -> None:
    reported = WorkOrderReported(
        kind=WorkOrderKind.REPAIR,
        category="plumbing",
        urgency=Urgency.NORMAL,
        location=Location(building="b2", unit="2-202"),
        reporter=Reporter(name="王女士"),
        channel=Channel.PHONE,
        description="厨房水管漏水",
        owner="cs-1",
        number="SG-20261201-0042",
    )
    old = reported.model_copy(update={"number": None})
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    numbered, unnumbered = fold([(reported, at)]), fold([(old, at)])

    assert numbered is not None and numbered.number == "SG-20261201-0042"
    assert numbered.summary()["number"] == "SG-20261201-0042"
    assert unnumbered is not None and unnumbered.number is None
