"""The SLA clock state machine (服务时限): what a work-order event does to the clocks.

`clock_events` turns a work-order event that was just decided into SLA events (the
service layer asks through `clocks.react`); the scheduler fires `timers` through
`on_timer` (`timers`, asked through `clocks.fire`); `recalculate` moves running clocks to a
newer policy or urgency. The state is the fold of the SLA events (`state`), so
whatever these functions decide is recorded and can be replayed.

Same-instant order:
- A breach happens strictly after the due time (its timer fires one microsecond later), so
  a stop, pause or cancellation recorded at the due time itself wins: met on time.
- Timers due at one instant fire as `timers` orders them: warnings, steps at a fraction
  of the target, the breach, the steps after the breach; clocks in `ClockName` order.
- A work-order event at the instant a warning or a step falls due: a pause raises them
  first (a paused clock has no timers); a stop or cancellation drops them.
- Within one work-order event, clocks react in `ClockName` order; per clock an overdue
  breach is recorded first, then the first that applies of: cancel, stop (met), restart
  (met, then the next cycle starts), retarget, pause, resume. A start applies only to a
  clock not running (never started, met or cancelled), whose next cycle it starts.
  Event-driven escalations come last. Events of one command react in stream order (the
  override before the postponement it allows).

Choices where the brief was silent:
- "Met" means the stop condition happened, whether on time or not: a breached clock is
  still met (with `on_time` false) when the thing is finally done. If the scheduler had
  not yet noticed the breach (a downtime), the breach is recorded just before the stop or
  cancellation, with its true due time; warnings and ladder steps that were not raised are
  dropped then, since nobody needs to act on a concluded clock.
- Before a pause, everything overdue (warnings, breach, ladder steps) is raised, because a
  paused clock has no timers.
- An arrival delay agreed before the deadline moves the target and marks the promise as
  missed with consent; `decide` refuses one after the deadline, and should one reach here
  it changes nothing (the breach stands).
- A visit booked at the resident's request moves the arrival target to the booked time plus
  the rule's `appointment_grace`, without consent: arriving then keeps the promise. A
  booking after the arrival deadline moves the target too, but the breach stands.
  Rebooking after a missed appointment resumes the paused clock and moves it to the new
  appointment in the same append (resumed, then recalculated).
- A retarget or recalculation keeps the elapsed business time, and never undoes a breach;
  warnings and ladder steps the new target puts back in the future are raised again.
- Steps after a breach are wall-clock delays from the breached due time (notify decides
  who is on duty); a clock paused after its breach fires the ones it missed on resuming.
- A report entered after the request came in (`received_at`) starts its clocks at that
  instant: the started event carries `started_at` and the business time already elapsed,
  and a deadline already passed is breached by the next scheduler pass.
- A due time set on a working-days calendar across a year whose public holidays are not
  known (neither loaded nor announced in the `holidays` package) is followed by a
  `sla_calendar_unconfirmed` warning, once per clock and year (`calendar_warning`).
- Event-driven escalations carry the version of the policy whose ladder they follow.
- A running clock follows the policy version it started under (its rule's triggers, its
  warning thresholds, its ladder, its calendar) until an explicit recalculation moves it;
  new clocks start under the current version, and event-driven escalations follow the
  current ladder. The target and due time change only by an event.
"""

from __future__ import annotations

from datetime import datetime

from services.dispatch.domain.sla.calendar import BusinessCalendar
from services.dispatch.domain.sla.calendar_warning import warn_unconfirmed
from services.dispatch.domain.sla.emitter import Emitter
from services.dispatch.domain.sla.policy import PolicyBook, SlaPolicy
from services.dispatch.domain.sla.rules import ClockRule, EscalationTrigger
from services.dispatch.domain.sla.state import ClockState, SlaState
from services.dispatch.domain.workorder import WorkOrderState
from shared.clock import utc
from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    SlaClockCancelled,
    SlaClockEvent,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
    SlaEscalated,
)
from shared.events.workorder import (
    AppointmentScheduled,
    ArrivalDelayAgreed,
    CommitmentMade,
    ComplaintValidityMarked,
    Postponed,
    PostponementOverrideGranted,
    Reopened,
    WorkOrderReported,
    WorkPaused,
)


def clock_events(
    sla: SlaState,
    policies: PolicyBook,
    work_order_id: str,
    work_order: WorkOrderState,
    event: EventData,
    at: datetime,
    *,
    project: str | None = None,
) -> tuple[list[EventData], SlaState]:
    """The SLA events caused by the work-order `event` decided at `at`, and the SLA state
    with them folded in (the emitter folds as it goes, so the caller need not again).

    `work_order` is the state after the event, `project` the work order's project (rules
    may be specific to one). SLA events themselves cause nothing here.
    """
    if isinstance(event, SlaClockEvent):
        return [], sla
    out = Emitter(sla, at)
    rules: dict[int, dict[ClockName, ClockRule]] = {}

    def rule_of(policy: SlaPolicy, name: ClockName) -> ClockRule | None:
        if policy.version not in rules:
            found = policy.rules_for(work_order, project)
            rules[policy.version] = {rule.name: rule for rule in found}
        return rules[policy.version].get(name)

    for name in ClockName:
        clock = out.sla.clocks.get(name)
        if clock is not None and clock.active:
            ran_under = policies.of(clock.policy_version)
            if (rule := rule_of(ran_under, name)) is not None:
                _react_running(out, ran_under, rule, work_order, event)
        elif (
            (rule := rule_of(policies.current, name)) is not None
            and event.type_name in rule.start_on
            and rule.samples(work_order_id)
        ):
            _start(out, policies.current, rule, clock, work_order, event)
    warn_unconfirmed(out, policies)
    _escalate_on_event(out, policies, work_order, event)
    return out.events, out.sla


def _react_running(
    out: Emitter, policy: SlaPolicy, rule: ClockRule, work_order: WorkOrderState, event: EventData
) -> None:
    kind, name, at = event.type_name, rule.name, out.at
    clock = out.clock(name)
    calendar = policy.calendar(clock.calendar)
    if kind in rule.cancel_on or kind in rule.stop_on or kind in rule.restart_on:
        out.catch_up(policy, name, breach_only=True)
        clock = out.clock(name)
        figures = clock.figures(calendar, at)
        if kind in rule.cancel_on:
            out.emit(SlaClockCancelled(**figures, due_at=clock.due_at, reason=event.event_name()))
            return
        on_time = clock.breached_at is None
        met = SlaClockMet(
            **figures,
            due_at=clock.due_at,
            on_time=on_time,
            missed_with_consent=clock.consent,
            trigger=kind,
        )
        out.emit(met)
        if kind in rule.restart_on:
            _start(out, policy, rule, out.clock(name), work_order, event)
    elif kind in rule.retarget_on:
        if _resumed_by(rule, clock, kind):
            # Rebooked after a missed appointment: the clock counts again, towards the new
            # appointment rather than with what was left of the old target.
            _resume(out, clock, calendar, kind)
        _retarget(out, policy, rule, out.clock(name), calendar, event)
    elif clock.running and (reason := _pause_reason(rule, event)) is not None:
        out.catch_up(policy, name, breach_only=False)
        clock = out.clock(name)
        figures = clock.figures(calendar, at)
        out.emit(SlaClockPaused(**figures, due_at=clock.due_at, reason=reason, trigger=kind))
    elif _resumed_by(rule, clock, kind):
        _resume(out, clock, calendar, kind)


def _resumed_by(rule: ClockRule, clock: ClockState, kind: str) -> bool:
    """Whether the event type `kind` ends the clock's pause under `rule`."""
    return clock.paused is not None and any(
        p.on == clock.paused.trigger and kind in p.until for p in rule.pause_on
    )


def _resume(out: Emitter, clock: ClockState, calendar: BusinessCalendar, kind: str) -> None:
    at = out.at
    due = clock.due_after(calendar, at, clock.target - clock.elapsed_before)
    out.emit(SlaClockResumed(**clock.figures(calendar, at), due_at=due, trigger=kind))


def _pause_reason(rule: ClockRule, event: EventData) -> str | None:
    for pause in rule.pause_on:
        if pause.on != event.type_name:
            continue
        if not isinstance(event, WorkPaused):
            return event.event_name()
        if pause.reasons is None or event.reason in pause.reasons:
            return event.reason.value
    return None


def _promised_instant(event: EventData, rule: ClockRule) -> datetime | None:
    match event:
        case CommitmentMade(due_at=due):
            return utc(due)
        case Postponed(new_due_at=due):
            return utc(due)
        case ArrivalDelayAgreed(agreed_arrival_at=due):
            return utc(due)
        case AppointmentScheduled(appointment_at=booked):
            # 在业户预约的时间上门: the resident chose the time, so arriving then (within
            # the policy's grace) keeps the promise; it is not a delay asked of them.
            return utc(booked) + rule.appointment_grace
    return None


def _start(
    out: Emitter,
    policy: SlaPolicy,
    rule: ClockRule,
    previous: ClockState | None,
    work_order: WorkOrderState,
    event: EventData,
) -> None:
    calendar = policy.calendar(rule.calendar)
    began = _received_at(event) or out.at
    target = rule.target_for(work_order.urgency)
    promised = target is None
    if target is None:
        due = _promised_instant(event, rule) or work_order.commitment_due_at
        if due is not None:
            target = calendar.elapsed(began, due)
        elif rule.until_promised is not None:
            # Nothing promised yet: the default runs until a commitment moves it.
            promised = False
            target = rule.until_promised
            due = calendar.add(began, target)
        else:
            return  # nothing was promised yet; the commitment will start it
    else:
        due = calendar.add(began, target)
    elapsed = calendar.elapsed(began, out.at)
    started = SlaClockStarted(
        clock=rule.name,
        cycle=previous.cycle + 1 if previous is not None else 1,
        policy_version=policy.version,
        elapsed_seconds=elapsed.total_seconds(),
        remaining_seconds=(target - elapsed).total_seconds(),
        started_at=None if began == out.at else began,
        due_at=due,
        calendar=rule.calendar,
        target_seconds=target.total_seconds(),
        trigger=event.type_name,
        promised=promised,
    )
    out.emit(started)


def _received_at(event: EventData) -> datetime | None:
    """When a request entered after the fact came in: its clocks run from then."""
    if isinstance(event, WorkOrderReported) and event.received_at is not None:
        return utc(event.received_at)
    return None


def _retarget(
    out: Emitter,
    policy: SlaPolicy,
    rule: ClockRule,
    clock: ClockState,
    calendar: BusinessCalendar,
    event: EventData,
) -> None:
    new_due = _promised_instant(event, rule)
    if new_due is None:
        return
    out.catch_up(policy, clock.clock, breach_only=True)
    clock = out.clock(clock.clock)
    consent = isinstance(event, ArrivalDelayAgreed)
    if consent and clock.breached_at is not None:
        return  # agreed too late: the promise was already broken without consent
    target = clock.elapsed_at(calendar, out.at) + calendar.elapsed(out.at, new_due)
    recalculated = SlaClockRecalculated(
        **clock.figures(calendar, out.at, target),
        reason=event.event_name(),
        previous_due_at=clock.due_at,
        due_at=new_due,
        calendar=clock.calendar,
        target_seconds=target.total_seconds(),
        with_consent=consent,
        promised=True,
    )
    out.emit(recalculated)


def _occurrence(event: EventData, work_order: WorkOrderState) -> tuple[str, int] | None:
    match event:
        case Reopened() if work_order.reopen_count >= 2:
            return EscalationTrigger.SECOND_REOPEN.value, work_order.reopen_count
        case PostponementOverrideGranted():
            return (
                EscalationTrigger.POSTPONEMENT_OVERRIDE_GRANTED.value,
                work_order.postponement_overrides,
            )
        case ComplaintValidityMarked(valid=True):
            # Once per work order: a ruling reversed and made again is the same complaint.
            return EscalationTrigger.COMPLAINT_MARKED_VALID.value, 1
    return None


def _escalate_on_event(
    out: Emitter, policies: PolicyBook, work_order: WorkOrderState, event: EventData
) -> None:
    occurrence = _occurrence(event, work_order)
    if occurrence is None:
        return
    trigger, count = occurrence
    if count <= out.sla.event_escalations.get(trigger, 0):
        return  # this occurrence was escalated already
    policy = policies.current
    for step in policy.ladder().get(trigger, ()):
        clock = out.sla.clocks.get(step.reported_against)
        figures = {
            "clock": step.reported_against,
            "cycle": 0,
            "elapsed_seconds": 0.0,
            "remaining_seconds": 0.0,
        }
        if clock is not None:
            ran_under = policies.of(clock.policy_version)
            figures = clock.figures(ran_under.calendar(clock.calendar), out.at)
        escalated = SlaEscalated(
            **{**figures, "policy_version": policy.version},
            due_at=clock.due_at if clock is not None and clock.active else None,
            level=step.level,
            trigger=trigger,
            to_role=step.to_role,
            to_person=step.to_person,
            scheduled_for=out.at,
            detected_at=out.at,
            occurrence=count,
        )
        out.emit(escalated)
