"""Properties of open-time arithmetic on random calendars, starts and durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.dispatch.domain.sla import BusinessCalendar, CalendarKind, Window

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MICROSECOND = timedelta(microseconds=1)

# Shanghai is the real case; the others change their clocks, two of them at midnight.
CALENDAR_ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "America/Santiago"]
INPUT_ZONES = [
    UTC,
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("Europe/Berlin"),
    timezone(-timedelta(hours=3, minutes=30)),
]

# Clock changes and Chinese holidays, where the arithmetic has most to get wrong.
AWKWARD_INSTANTS = [
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 9, 7, 4, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 4, 5, 3, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 2, 13, 9, tzinfo=UTC),
    datetime(2026, 4, 30, 9, tzinfo=UTC),
    datetime(2026, 9, 30, 9, tzinfo=UTC),
    datetime(2025, 12, 31, 9, tzinfo=UTC),
]


def _real_time(start: datetime, end: datetime) -> timedelta:
    # Subtracting times that share a tzinfo gives their wall-clock difference, not real time.
    return end.astimezone(UTC) - start.astimezone(UTC)


def _wall_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def duty_windows(draw: st.DrawFn) -> tuple[Window, ...]:
    """Ordered, separate windows on quarter hours, or the whole day."""
    count = draw(st.integers(min_value=1, max_value=3))
    bounds = draw(
        st.lists(
            st.integers(min_value=0, max_value=96),
            min_size=2 * count,
            max_size=2 * count,
            unique=True,
        )
    )
    bounds.sort()
    return tuple(
        (_wall_clock(bounds[i] * 15), _wall_clock(bounds[i + 1] * 15))
        for i in range(0, len(bounds), 2)
    )


DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Any kind of calendar, in a zone of CALENDAR_ZONES, with tenant days within 2025–2027."""
    kind = draw(st.sampled_from(CalendarKind))
    zone = draw(st.sampled_from(CALENDAR_ZONES))
    if kind is CalendarKind.ALWAYS:
        return BusinessCalendar.always(tz=zone)
    windows = draw(st.one_of(st.just((("00:00", "24:00"),)), duty_windows()))
    closures = draw(st.frozensets(DAYS, max_size=20))
    if kind is CalendarKind.DAILY:
        return BusinessCalendar.daily(windows, tz=zone, closures=closures)
    extra = draw(st.frozensets(DAYS, max_size=10)) - closures
    return BusinessCalendar.working_days(
        windows,
        tz=zone,
        closures=closures,
        extra_working_days=extra,
        use_public_holidays=draw(st.booleans()),
    )


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An aware instant in 2025–2027, written in one of several zones."""
    near_awkward = st.builds(
        lambda at, shift: at + timedelta(seconds=shift),
        st.sampled_from(AWKWARD_INSTANTS),
        st.integers(min_value=-2 * 86400, max_value=2 * 86400),
    )
    anywhere = st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    )
    at = draw(st.one_of(anywhere, near_awkward))
    return at.astimezone(draw(st.sampled_from(INPUT_ZONES)))


@st.composite
def durations(draw: st.DrawFn, calendar: BusinessCalendar) -> timedelta:
    """From nothing to ten working days; often whole windows, whose ends are boundaries."""
    day = calendar.working_day_length()
    whole = st.builds(lambda n: day * n / 4, st.integers(min_value=0, max_value=40))
    any_amount = st.builds(
        lambda us: timedelta(microseconds=us),
        st.integers(min_value=0, max_value=10 * day // MICROSECOND),
    )
    return draw(st.one_of(st.just(timedelta(0)), whole, any_amount))


@FAST
@given(st.data())
def test_the_open_time_until_the_deadline_is_the_duration(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants())
    duration = data.draw(durations(calendar))

    due = calendar.add(start, duration)

    assert calendar.elapsed(start, due) == duration
    assert due.tzinfo is UTC


@FAST
@given(st.data())
def test_a_deadline_is_open_time_or_the_end_of_it(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants())
    duration = data.draw(durations(calendar))

    due = calendar.add(start, duration)

    if duration:
        # The clock ran right up to the deadline: it may be a window's end, never later.
        assert calendar.is_open(due - MICROSECOND)
    else:
        assert due == calendar.next_opening(start)
        assert calendar.is_open(due)


@FAST
@given(st.data())
def test_a_longer_duration_is_never_due_earlier(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants())
    shorter, longer = sorted([data.draw(durations(calendar)), data.draw(durations(calendar))])

    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@FAST
@given(st.data())
def test_adding_in_two_steps_is_adding_once(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants())
    first = data.draw(durations(calendar))
    second = data.draw(durations(calendar)) + MICROSECOND

    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@FAST
@given(st.data())
def test_elapsed_time_adds_up(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a, b, c = sorted((data.draw(instants()) for _ in range(3)), key=lambda at: at.astimezone(UTC))

    assert calendar.elapsed(a, c) == calendar.elapsed(a, b) + calendar.elapsed(b, c)
    assert timedelta(0) <= calendar.elapsed(a, c) <= _real_time(a, c)
    assert calendar.elapsed(c, a) == timedelta(0)


@FAST
@given(st.data())
def test_the_next_opening_is_open_and_nothing_before_it_is(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    at = data.draw(instants())

    opening = calendar.next_opening(at)

    assert opening >= at
    assert calendar.is_open(opening)
    assert calendar.elapsed(at, opening) == timedelta(0)
    # In UTC: Python's == is False across zones for a time in a fold (PEP 495), even the same.
    assert calendar.is_open(at) == (opening == at.astimezone(UTC))


@FAST
@given(st.data())
def test_open_instants_fall_on_working_days(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    at = data.draw(instants())

    if calendar.is_open(at):
        assert calendar.time_zone is not None  # calendars() names a zone
        assert calendar.is_working_day(at.astimezone(ZoneInfo(calendar.time_zone)).date())


@FAST
@given(calendars())
def test_a_calendar_survives_storage(calendar: BusinessCalendar) -> None:
    assert BusinessCalendar.model_validate_json(calendar.model_dump_json()) == calendar


@FAST
@given(st.sampled_from(CALENDAR_ZONES), instants(), instants())
def test_a_whole_day_every_day_is_real_time(zone: str, start: datetime, end: datetime) -> None:
    round_the_clock = BusinessCalendar.daily(tz=zone)

    assert round_the_clock.elapsed(start, end) == max(_real_time(start, end), timedelta(0))
