"""Public-holiday schedules (调休): loaded schedules, the package's announced years, and the
warning of a working-days clock that runs into a year nobody has published yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.dispatch.domain.commands import GiveFeedback
from services.dispatch.domain.sla import (
    PACKAGE_ONLY,
    BusinessCalendar,
    PackageYear,
    PublicHolidays,
    PublicHolidaySchedule,
    ScheduleDocument,
    ScheduleOrigin,
    SlaPolicy,
    china_public_calendar,
    default_policy,
    recalculate,
)
from services.dispatch.domain.sla.calendar import _cached_local_day
from shared.clock import ManualClock
from shared.errors import InvalidInput
from shared.events.sla import (
    ClockName,
    SlaCalendarUnconfirmed,
    SlaClockRecalculated,
    SlaClockStarted,
)
from shared.events.workorder import WorkOrderKind

from .sla_story import SlaStory, only, reported

OFFICE = (("09:00", "12:00"), ("13:00", "18:00"))
NEW_YEARS_EVE_2PM = datetime(2026, 12, 31, 6, 0, tzinfo=UTC)
"""Thursday 31 December 2026, 14:00 in Shanghai: four office hours are left in the year."""
SATURDAY = date(2027, 1, 2)


def unannounced(*years: int) -> PublicHolidays:
    """The package as it is before the State Council announces `years`: their statutory days
    off and no make-up working day (a stand-in for the real package, whatever release is
    installed)."""

    def package(year: int) -> PackageYear:
        days_off, make_up = china_public_calendar(year)
        return days_off, frozenset() if year in years else make_up

    return PublicHolidays(package=package)


def schedule_2027(**changes: object) -> PublicHolidaySchedule:
    """A 2027 schedule with New Year's Day off and Saturday 2 January worked."""
    fields: dict[str, object] = {
        "year": 2027,
        "days_off": frozenset({date(2027, 1, 1)}),
        "make_up_days": frozenset({SATURDAY}),
        "source": "国办发明电〔2026〕1号",
    }
    return PublicHolidaySchedule(**{**fields, **changes})  # type: ignore[arg-type]


def office(holidays: PublicHolidays) -> BusinessCalendar:
    return BusinessCalendar.working_days(OFFICE).with_public_holidays(holidays)


# -- the rules of a schedule ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"days_off": frozenset({date(2026, 12, 31)})}, "holiday_outside_year"),
        ({"make_up_days": frozenset({date(2028, 1, 1)})}, "holiday_outside_year"),
        ({"days_off": frozenset()}, "no_days_off"),
        ({"days_off": frozenset({SATURDAY})}, "day_off_and_make_up_day"),
        ({"make_up_days": frozenset({date(2027, 1, 4)})}, "make_up_day_not_weekend"),
        ({"year": 20270}, "year_out_of_range"),
    ],
)
def test_a_schedule_that_breaks_a_rule_is_refused_with_its_code(
    changes: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        schedule_2027(**changes)

    assert refused.value.code == code


def test_a_schedule_document_round_trips_with_sorted_days() -> None:
    document = ScheduleDocument.model_validate(
        {
            "year": 2027,
            "days_off": ["2027-02-08", "2027-01-01"],
            "make_up_days": ["2027-01-02"],
            "source": "国办发明电〔2026〕1号",
        }
    )

    schedule = document.to_schedule()

    assert ScheduleDocument.of(schedule).days_off == (date(2027, 1, 1), date(2027, 2, 8))
    assert ScheduleDocument.of(schedule).to_schedule() == schedule


# -- which schedule a year follows -------------------------------------------------------


def test_a_year_the_package_lists_make_up_days_for_is_announced() -> None:
    def package(year: int) -> PackageYear:
        if year == 2027:  # a future release that knows 2027's notice
            return frozenset({date(2027, 1, 1)}), frozenset({SATURDAY})
        return frozenset({date(year, 1, 1)}), frozenset()

    holidays = PublicHolidays(package=package)

    assert holidays.year(2027).origin is ScheduleOrigin.PACKAGE
    assert holidays.known(2027)
    assert holidays.year(2028).origin is ScheduleOrigin.UNKNOWN
    assert not holidays.known(2028)


def test_2026_is_announced_in_the_installed_package_and_a_far_year_is_not() -> None:
    assert PACKAGE_ONLY.year(2026).origin is ScheduleOrigin.PACKAGE
    assert date(2026, 2, 14) in PACKAGE_ONLY.year(2026).make_up_days
    assert not PACKAGE_ONLY.known(2090)


def test_loaded_schedule_overrides_package_estimate() -> None:
    holidays = PublicHolidays(operator={2027: schedule_2027()}, package=unannounced(2027).package)

    year = holidays.year(2027)

    assert year.origin is ScheduleOrigin.OPERATOR
    assert year.known
    assert year.make_up_days == {SATURDAY}
    # The whole year follows the schedule: the estimate's Spring Festival is not added.
    assert year.days_off == {date(2027, 1, 1)}
    assert year.source == "国办发明电〔2026〕1号"


def test_a_tenants_own_schedule_wins_over_the_operators() -> None:
    own = schedule_2027(make_up_days=frozenset(), source="our own reading")
    holidays = PublicHolidays(tenant={2027: own}, operator={2027: schedule_2027()})

    assert holidays.year(2027).origin is ScheduleOrigin.TENANT
    assert holidays.year(2027).make_up_days == frozenset()


def test_make_up_day_is_a_working_day() -> None:
    estimate = office(unannounced(2027))
    loaded = office(PublicHolidays(tenant={2027: schedule_2027()}))

    assert not estimate.is_working_day(SATURDAY)
    assert loaded.is_working_day(SATURDAY)
    assert not loaded.is_working_day(date(2027, 1, 1))
    # Four hours left on New Year's Eve, then Saturday 2 January rather than Monday the 4th.
    assert estimate.add(NEW_YEARS_EVE_2PM, timedelta(hours=8)) == datetime(
        2027, 1, 4, 6, 0, tzinfo=UTC
    )
    assert loaded.add(NEW_YEARS_EVE_2PM, timedelta(hours=8)) == datetime(
        2027, 1, 2, 6, 0, tzinfo=UTC
    )


def test_calendars_following_different_schedules_do_not_share_cached_days() -> None:
    estimate = office(unannounced(2027))
    loaded = office(PublicHolidays(tenant={2027: schedule_2027()}))
    same = office(PublicHolidays(tenant={2027: schedule_2027()}))

    assert estimate != loaded
    assert loaded == same and hash(loaded) == hash(same)
    assert estimate.is_open(datetime(2027, 1, 2, 2, 0, tzinfo=UTC)) is False
    assert loaded.is_open(datetime(2027, 1, 2, 2, 0, tzinfo=UTC)) is True


def test_equal_schedules_loaded_again_share_the_calendars_cached_days() -> None:
    # A tenant's schedules are read again every 30 s: equal values must not start a cold
    # cache, or every deadline after a refresh would rebuild its days.
    first = office(PublicHolidays(tenant={2027: schedule_2027()}))
    first.add(NEW_YEARS_EVE_2PM, timedelta(hours=40))
    before = _cached_local_day.cache_info()

    again = office(PublicHolidays(tenant={2027: schedule_2027()}))
    again.add(NEW_YEARS_EVE_2PM, timedelta(hours=40))

    after = _cached_local_day.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits


def test_the_schedules_are_not_stored_with_the_policy() -> None:
    policy = default_policy().with_public_holidays(PublicHolidays(tenant={2027: schedule_2027()}))

    assert SlaPolicy.model_validate(policy.model_dump(mode="json")) == default_policy()
    zoned = policy.in_zone("Asia/Urumqi").calendar("working_days")
    assert zoned.public_holidays.known(2027)


def test_only_a_working_days_calendar_on_public_holidays_has_unconfirmed_years() -> None:
    holidays = unannounced(2027)
    until = datetime(2027, 1, 4, tzinfo=UTC)

    assert office(holidays).unconfirmed_years(NEW_YEARS_EVE_2PM, until) == (2027,)
    assert (
        BusinessCalendar.always()
        .with_public_holidays(holidays)
        .unconfirmed_years(NEW_YEARS_EVE_2PM, until)
        == ()
    )
    plain = BusinessCalendar.working_days(OFFICE, use_public_holidays=False)
    assert plain.with_public_holidays(holidays).unconfirmed_years(NEW_YEARS_EVE_2PM, until) == ()


# -- the warning -------------------------------------------------------------------------


def complaint_on_new_years_eve(holidays: PublicHolidays) -> SlaStory:
    """A complaint whose feedback is due in one working day, reported at 14:00 on 31 Dec."""
    policy = default_policy(complaint_feedback_on_working_days=True)
    story = SlaStory(
        policy=policy.with_public_holidays(holidays), clock=ManualClock(NEW_YEARS_EVE_2PM)
    )
    story.do(reported(WorkOrderKind.COMPLAINT))
    return story


def test_clock_into_unknown_year_warns_once() -> None:
    story = complaint_on_new_years_eve(unannounced(2027))

    [warning] = only(story.sla_events(), SlaCalendarUnconfirmed)
    [started] = only(story.sla_events(), SlaClockStarted, ClockName.FEEDBACK)
    assert warning.clock is ClockName.FEEDBACK
    assert warning.years == (2027,)
    assert warning.calendar == "working_days"
    assert warning.due_at == started.due_at == datetime(2027, 1, 4, 6, 0, tzinfo=UTC)

    # A newer version gives feedback 12 office hours: recalculating moves the due time
    # further into 2027, and the warning is not repeated.
    story.publish(twelve_office_hours_for_feedback(story.policy))
    story.wait(timedelta(hours=1))
    moved = recalculate(story.sla, story.book, story.current, story.now, project=story.project)
    story.record(moved)
    [recalculated] = only(moved, SlaClockRecalculated, ClockName.FEEDBACK)
    assert recalculated.due_at == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)  # 18:00
    assert len(only(story.sla_events(), SlaCalendarUnconfirmed)) == 1


def twelve_office_hours_for_feedback(policy: SlaPolicy) -> SlaPolicy:
    clocks = tuple(
        rule.model_copy(update={"target": timedelta(hours=12)})
        if rule.name is ClockName.FEEDBACK and rule.calendar == "working_days"
        else rule
        for rule in policy.clocks
    )
    return policy.model_copy(update={"version": 2, "clocks": clocks})


def test_a_clock_that_stays_in_known_years_does_not_warn() -> None:
    story = complaint_on_new_years_eve(PublicHolidays(tenant={2027: schedule_2027()}))

    [started] = only(story.sla_events(), SlaClockStarted, ClockName.FEEDBACK)
    assert only(story.sla_events(), SlaCalendarUnconfirmed) == []
    assert started.due_at == datetime(2027, 1, 2, 6, 0, tzinfo=UTC)  # the make-up Saturday


def test_a_24x7_clock_running_into_an_unknown_year_does_not_warn() -> None:
    story = complaint_on_new_years_eve(unannounced(2027))

    warned = {w.clock for w in only(story.sla_events(), SlaCalendarUnconfirmed)}

    assert warned == {ClockName.FEEDBACK}  # arrival, resolution and progress run 24×7


def test_the_next_cycle_into_the_same_year_does_not_warn_again() -> None:
    story = complaint_on_new_years_eve(unannounced(2027))
    story.do(GiveFeedback(message="we are looking into it"))

    assert story.sla.calendar_warnings == {ClockName.FEEDBACK: frozenset({2027})}
    assert len(only(story.sla_events(), SlaCalendarUnconfirmed)) == 1
