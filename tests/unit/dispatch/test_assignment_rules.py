"""Eligibility and ranking of technicians, property-based over random rosters."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dispatch.domain.assignment import (
    Availability,
    DispatchFacts,
    DispatchRule,
    IneligibleCode,
    OrderFacts,
    Roster,
    Shift,
    StaffMember,
    StaffRecord,
    StaffRole,
    Workload,
    next_dispatch_step,
    rank,
    why_not,
)
from services.dispatch.domain.sla import BusinessCalendar
from shared.events.workorder import DispatchMode, DispatchPending, Offered, PendingReason, Urgency

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TRADES = ("plumbing", "electrical", "elevator")
PROJECTS = ("sunny", "river")
BUILDINGS = ("b1", "b2", "b3")


def member(
    staff_id: str,
    *,
    trades: tuple[str, ...] = ("plumbing",),
    projects: tuple[str, ...] = ("sunny",),
    buildings: tuple[str, ...] = (),
    availability: Availability = Availability.ON_DUTY,
    role: StaffRole = StaffRole.TECHNICIAN,
    max_open: int | None = None,
) -> StaffMember:
    record = StaffRecord(
        name=staff_id,
        role=role,
        team="maintenance",
        trades=frozenset(trades),
        projects=frozenset(projects),
        buildings=frozenset(buildings),
        max_open_orders=max_open,
    )
    return StaffMember(id=staff_id, record=record, availability=availability)


RULE = DispatchRule(mode=DispatchMode.AUTO, trade="plumbing", load_limit=3)
ORDER = OrderFacts(project="sunny", building="b1", urgency=Urgency.NORMAL, rotation_key=0)

staff_members = st.builds(
    lambda i, trades, projects, buildings, availability, role, max_open: member(
        f"t{i:03d}",
        trades=tuple(trades),
        projects=tuple(projects),
        buildings=tuple(buildings),
        availability=availability,
        role=role,
        max_open=max_open,
    ),
    st.integers(0, 999),
    st.sets(st.sampled_from(TRADES), max_size=3),
    st.sets(st.sampled_from(PROJECTS), min_size=1, max_size=2),
    st.sets(st.sampled_from(BUILDINGS), max_size=2),
    st.sampled_from(list(Availability)),
    st.sampled_from([StaffRole.TECHNICIAN] * 4 + [StaffRole.SUPERVISOR]),
    st.one_of(st.none(), st.integers(1, 6)),
)
rosters = st.lists(staff_members, max_size=25, unique_by=lambda m: m.id)
workloads = st.builds(
    Workload,
    st.integers(0, 8),
    st.one_of(
        st.none(),
        st.integers(0, 86_400).map(lambda s: NOW - timedelta(seconds=s)),
    ),
)
orders = st.builds(
    OrderFacts,
    st.sampled_from(PROJECTS),
    st.one_of(st.none(), st.sampled_from(BUILDINGS)),
    st.sampled_from(list(Urgency)),
    st.integers(0, 10**9),
)


@settings(max_examples=300, deadline=None)
@given(
    staff=rosters,
    loads=st.lists(workloads, min_size=25, max_size=25),
    order=orders,
    tried_count=st.integers(0, 3),
)
def test_eligible_technicians_meet_every_rule_and_the_others_have_a_reason(
    staff: list[StaffMember], loads: list[Workload], order: OrderFacts, tried_count: int
) -> None:
    by_id = {m.id: loads[i] for i, m in enumerate(staff)}
    tried = [m.id for m in staff[:tried_count]]
    ranked, refused = rank(staff, RULE, order, by_id, None, tried, NOW)

    assert {c.staff_id for c in ranked} | set(refused) == {m.id for m in staff}
    assert not {c.staff_id for c in ranked} & set(refused)
    for candidate in ranked:
        chosen = next(m for m in staff if m.id == candidate.staff_id)
        assert chosen.record.role is StaffRole.TECHNICIAN
        assert "plumbing" in chosen.record.trades
        assert chosen.covers(order.project, order.building)
        assert chosen.availability is Availability.ON_DUTY
        assert chosen.id not in tried
        limit = chosen.record.max_open_orders or RULE.load_limit
        assert order.urgency is Urgency.URGENT or by_id[chosen.id].open_orders < limit
        assert any(reason.startswith("skill plumbing") for reason in candidate.reasons)


@settings(max_examples=300, deadline=None)
@given(staff=rosters, loads=st.lists(workloads, min_size=25, max_size=25), order=orders)
def test_ranking_is_least_open_work_then_longest_idle_then_rotation(
    staff: list[StaffMember], loads: list[Workload], order: OrderFacts
) -> None:
    by_id = {m.id: loads[i] for i, m in enumerate(staff)}
    ranked, _ = rank(staff, RULE, order, by_id, None, (), NOW)

    for first, second in itertools.pairwise(ranked):
        assert first.open_orders <= second.open_orders
        if first.open_orders == second.open_orders:
            first_idle = first.idle.total_seconds() if first.idle is not None else float("inf")
            second_idle = second.idle.total_seconds() if second.idle is not None else float("inf")
            assert first_idle >= second_idle
            if first_idle == second_idle:
                assert first.rotation < second.rotation
    assert len({c.rotation for c in ranked}) == len(ranked)


@settings(max_examples=200, deadline=None)
@given(staff=rosters, order=orders, mode=st.sampled_from([DispatchMode.AUTO, DispatchMode.GRAB]))
def test_auto_offers_the_first_ranked_and_grab_offers_every_eligible(
    staff: list[StaffMember], order: OrderFacts, mode: DispatchMode
) -> None:
    rule = RULE.model_copy(update={"mode": mode})
    facts = DispatchFacts(rule, staff, Roster(), {})
    step = next_dispatch_step(facts, order, 0, (), NOW)
    ranked, _ = rank(staff, rule, order, {}, None, (), NOW)

    if not ranked:
        assert isinstance(step, DispatchPending)
        assert step.reason is PendingReason.NOBODY_ELIGIBLE
        return
    assert isinstance(step, Offered)
    expected = [ranked[0].staff_id] if mode is DispatchMode.AUTO else [c.staff_id for c in ranked]
    assert [o.technician for o in step.offers] == expected
    assert step.expires_at == NOW + timedelta(seconds=rule.offer_seconds)


def test_urgent_orders_skip_the_load_limit() -> None:
    busy = member("t1")
    loaded = Workload(open_orders=9)
    urgent = OrderFacts("sunny", "b1", Urgency.URGENT, 0)

    assert why_not(busy, RULE, ORDER, loaded, None, frozenset()) == "has 9 open orders, limit 3"
    assert why_not(busy, RULE, urgent, loaded, None, frozenset()) is None


def test_a_refusal_is_its_english_sentence_with_its_code_and_facts() -> None:
    refusal = why_not(member("t1"), RULE, ORDER, Workload(open_orders=9), None, frozenset())
    electrician = member("t2", trades=("electrical",))
    no_skill = why_not(electrician, RULE, ORDER, Workload(), None, frozenset())

    assert refusal is not None and no_skill is not None
    assert (refusal.code, refusal.open_orders, refusal.limit) == (
        IneligibleCode.AT_LOAD_LIMIT,
        9,
        3,
    )
    assert (no_skill, no_skill.code, no_skill.trade) == (
        "no plumbing skill",
        IneligibleCode.NO_SKILL,
        "plumbing",
    )
    assert no_skill.availability is None and no_skill.open_orders is None


def test_someone_off_the_roster_shift_is_not_eligible() -> None:
    day_shift = Shift(
        name="day",
        team="maintenance",
        members=("t1",),
        calendar=BusinessCalendar.daily([("08:00", "20:00")]),
    )
    roster = Roster(shifts=(day_shift,))
    night = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai

    assert roster.on_duty(NOW) == {"t1"}
    assert roster.on_duty(night) == frozenset()
    assert why_not(member("t1"), RULE, ORDER, Workload(), roster.on_duty(night), frozenset()) == (
        "not on a roster shift now"
    )


def test_a_rotation_of_three_crews_puts_exactly_one_on_duty_each_day() -> None:
    crews = tuple(
        Shift(
            name=f"crew-{n}",
            team="maintenance",
            members=(f"c{n}",),
            cycle_days=3,
            anchor=datetime(2026, 3, 1 + n).date(),
        )
        for n in range(3)
    )
    roster = Roster(shifts=crews)

    for day in range(9):
        on = roster.on_duty(NOW + timedelta(days=day))
        assert len(on) == 1
        assert on == {f"c{(day + 1) % 3}"}


def test_after_the_last_attempt_the_order_is_escalated_to_the_supervisor_on_duty() -> None:
    staff = [
        member("t1"),
        member("boss", role=StaffRole.SUPERVISOR),
        member("off-boss", role=StaffRole.SUPERVISOR, availability=Availability.OFF),
    ]
    facts = DispatchFacts(RULE, staff, Roster(on_call=("hotline",)), {})

    step = next_dispatch_step(facts, ORDER, RULE.max_attempts, (), NOW)

    assert isinstance(step, DispatchPending)
    assert step.reason is PendingReason.ATTEMPTS_EXHAUSTED
    assert (step.escalation, step.escalated_to) == ("on_duty_supervisor", ("boss",))


def test_with_no_supervisor_on_duty_the_on_call_list_is_told() -> None:
    facts = DispatchFacts(
        RULE, [member("t1", trades=("cleaning",))], Roster(on_call=("hotline",)), {}
    )

    step = next_dispatch_step(facts, ORDER, 0, (), NOW)

    assert isinstance(step, DispatchPending)
    assert (step.reason, step.escalation, step.escalated_to) == (
        PendingReason.NOBODY_ELIGIBLE,
        "on_call",
        ("hotline",),
    )


def test_manual_mode_makes_no_offer() -> None:
    rule = RULE.model_copy(update={"mode": DispatchMode.MANUAL})
    assert (
        next_dispatch_step(DispatchFacts(rule, [member("t1")], Roster(), {}), ORDER, 0, (), NOW)
        is None
    )


shifts = st.builds(
    lambda n, members, cycle, offset, start: Shift(
        name=f"shift-{n}",
        team="maintenance",
        members=tuple(sorted(members)),
        cycle_days=cycle,
        on_days=(offset % cycle,),
        anchor=datetime(2026, 1, 1).date() + timedelta(days=start),
    ),
    st.integers(0, 99),
    st.sets(st.sampled_from([f"t{i:03d}" for i in range(8)]), min_size=1, max_size=4),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(0, 30),
)


@settings(max_examples=200, deadline=None)
@given(
    roster_shifts=st.lists(shifts, max_size=4, unique_by=lambda s: s.name),
    hours=st.integers(0, 24 * 60),
)
def test_only_technicians_on_a_working_shift_are_offered_work(
    roster_shifts: list[Shift], hours: int
) -> None:
    roster = Roster(shifts=tuple(roster_shifts))
    at = NOW + timedelta(hours=hours)
    staff = [member(f"t{i:03d}") for i in range(8)]
    local_day = (at + timedelta(hours=8)).date()  # Shanghai, no daylight saving

    on_duty = roster.on_duty(at)
    ranked, refused = rank(staff, RULE, ORDER, {}, on_duty, (), at)

    expected = {
        name
        for s in roster_shifts
        if (local_day - s.anchor).days % s.cycle_days in s.on_days
        for name in s.members
    }
    assert on_duty == expected
    assert {c.staff_id for c in ranked} == expected
    assert all(refused[m.id] == "not on a roster shift now" for m in staff if m.id not in expected)
