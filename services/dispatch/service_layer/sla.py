"""The SLA clocks around each command: the events a decision causes, and the timers left.

Every work-order event a command decides is shown to the SLA domain (`react`) with the
work order's state after it; the SLA events it causes are appended in the same batch,
right after the event that caused them, and the stream's pending timers (worked out once,
from the clocks after the last event) are replaced in the same transaction. The timer
table is therefore always the pure function of the events that `timers()` defines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from services.dispatch.domain.assignment import (
    Roster,
    StaffMember,
    needs_people,
    with_people_on_duty,
)
from services.dispatch.domain.sla import (
    URGENCY_CHANGED,
    Clocks,
    PolicyBook,
    SlaPolicy,
    SlaState,
    Timer,
    TimerKind,
    default_policy,
    evolve_sla,
    fire,
    fold_sla,
    react,
    recalculate,
    timers,
)
from services.dispatch.domain.workorder import WorkOrderState, evolve
from services.dispatch.service_layer.assignment import offer_timer_rows
from services.dispatch.service_layer.ports import (
    AppendBatch,
    EventStore,
    NewEvent,
    StreamTimers,
    TimerRow,
)
from services.dispatch.service_layer.timer_work import load_fresh, retry_conflicts
from services.dispatch.service_layer.timers import ClockTimer
from shared.events.base import EventData
from shared.events.recorded import EventMetadata
from shared.events.sla import SlaEscalated
from shared.events.workorder import UrgencyChanged
from shared.ids import new_uuid


@runtime_checkable
class DutyDirectory(Protocol):
    """The staff and rosters an escalation to a role is resolved with."""

    async def list_staff(self, tenant: str, project: str | None) -> list[StaffMember]:
        """The staff covering `project`."""
        ...

    async def roster(self, tenant: str, project: str) -> Roster:
        """The project's roster in its time zone."""
        ...


class SlaPolicies(Protocol):
    """Which SLA policies govern a tenant's clocks."""

    async def current(self, tenant: str, project: str | None = None) -> SlaPolicy:
        """The version new clocks of `project` start under (None: the tenant-wide one)."""
        ...

    async def book(self, tenant: str, project: str, versions: Iterable[int]) -> PolicyBook:
        """The current policy and the earlier `versions` running clocks name, each with its
        calendars read in the project's time zone where they name none."""
        ...


class DefaultSlaPolicies:
    """The default service promises (version 1, docs/sla.md) for every tenant, on Shanghai time."""

    def __init__(self) -> None:
        self._book = PolicyBook(default_policy())

    async def current(self, tenant: str, project: str | None = None) -> SlaPolicy:
        """The default policy, whoever asks."""
        return self._book.current

    async def book(self, tenant: str, project: str, versions: Iterable[int]) -> PolicyBook:
        """The default policy alone: no other version exists."""
        return self._book


async def policies_for(
    policies: SlaPolicies, tenant: str, project: str, sla: SlaState
) -> PolicyBook:
    """The policies a work order's clocks run under, given its SLA state."""
    return await policies.book(tenant, project, sla.policy_versions())


def with_sla(
    history: list[tuple[EventData, datetime]],
    state: WorkOrderState | None,
    decided: list[EventData],
    policies: PolicyBook,
    work_order_id: str,
    project: str,
    at: datetime,
    sla: SlaState | None = None,
) -> tuple[list[EventData], WorkOrderState, tuple[TimerRow, ...]]:
    """The decided events each followed by the SLA events it causes; the state; the timers.

    `sla` is the fold of `history`'s SLA events when the caller has it already. An urgency
    change moves the running clocks to the targets of the new urgency, keeping the business
    time already elapsed (`recalculate` with reason `urgency_changed`).
    """
    if sla is None:
        sla = fold_sla(history)
    events: list[EventData] = []
    for event in decided:
        state = evolve(state, event, at)
        events.append(event)
        caused, sla = react(Clocks(sla, policies, work_order_id, state, project), event, at)
        for sla_event in caused:
            state = evolve(state, sla_event, at)
            events.append(sla_event)
        if isinstance(event, UrgencyChanged):
            # The urgent targets are the current policy's; a clock begun under an older
            # version moves to the current one too, as an explicit recalculation would.
            moved = recalculate(sla, policies, state, at, project=project, reason=URGENCY_CHANGED)
            for sla_event in moved:
                sla = evolve_sla(sla, sla_event, at)
                state = evolve(state, sla_event, at)
                events.append(sla_event)
    assert state is not None
    return events, state, timer_rows(sla, policies, work_order_id)


def timer_rows(sla: SlaState, policies: PolicyBook, work_order_id: str) -> tuple[TimerRow, ...]:
    """The durable form of the pending timers."""
    return durable(timers(sla, policies, work_order_id), work_order_id)


def durable(pending: Iterable[Timer], work_order_id: str) -> tuple[TimerRow, ...]:
    """The rows a work order's pending SLA timers need: each running clock's next timer,
    and its breach (what `GET /v1/sla/at-risk` lists).

    The later warnings and escalation steps need no row: the scheduler fires a due timer
    from the stream's fresh state (`fire_timers`), which fires every later one already
    due in the same append and writes the clock's next timer as its row. A report's rows
    fell from about a dozen to two a clock."""
    kept: dict[tuple[str, str], Timer] = {}
    for timer in sorted(pending, key=Timer.sort_key):
        kept.setdefault((timer.clock, "next"), timer)
        if timer.kind is TimerKind.BREACH:
            kept.setdefault((timer.clock, "breach"), timer)
    return tuple(ClockTimer(work_order_id, timer).row() for timer in dict.fromkeys(kept.values()))


_MAX_TIMERS_PER_FIRE = 64
"""Bound on the chain of timers one firing may set off (a ladder is a few steps)."""

SCHEDULER_ACTOR = "sla-scheduler"
"""The `actor` of the SLA events the scheduler records (warnings, breaches, escalations)."""


async def fire_timers(
    store: EventStore,
    policies: SlaPolicies,
    work_order_id: str,
    due: list[Timer],
    now: datetime,
    attempts: int = 3,
    duty: DutyDirectory | None = None,
) -> int:
    """Record what the due timers of one work order raise; return how many events.

    The stream's fresh state decides: a timer already fired, or made stale by a later
    command, raises nothing (`on_timer` is idempotent), so two schedulers racing for the
    same timer record it once; the loser's append conflicts and finds nothing left to do.
    The work order's timers are replaced with what is pending afterwards. With `duty`,
    an escalation to the supervisor or project-manager role names its people (`to_people`).
    """
    return await retry_conflicts(
        lambda: _fire_once(store, policies, work_order_id, due, now, duty), attempts
    )


async def _fire_once(
    store: EventStore,
    policies: SlaPolicies,
    work_order_id: str,
    due: list[Timer],
    now: datetime,
    duty: DutyDirectory | None,
) -> int:
    fresh = await load_fresh(store, work_order_id)
    if fresh is None:
        return 0
    history, state = fresh.history, fresh.state
    tenant, project = fresh.tenant, fresh.project
    sla = fold_sla(history)
    book = await policies_for(policies, tenant, project, sla)
    raised: list[EventData] = []
    # A fired timer can make another one due at once (the breach makes the ladder's
    # "at breach" step pending): fire those in the same append instead of a later pass.
    seen: set[str] = set()
    pending = timers(sla, book, work_order_id)
    # The table holds only each clock's next timer and breach (`durable`): every other
    # timer already due is taken from the fresh state, so all fire in their order.
    ready = sorted(
        ({t.key: t for t in due} | {t.key: t for t in pending if t.fires_at <= now}).values(),
        key=Timer.sort_key,
    )
    while ready and len(seen) < _MAX_TIMERS_PER_FIRE:
        for timer in ready:
            seen.add(timer.key)
            events, after = fire(Clocks(sla, book, work_order_id, state, project), timer, now)
            for event in events:
                sla = evolve_sla(sla, event, now)
                state = evolve(state, event, now)
                raised.append(event)
            if events:
                pending = after
        ready = [timer for timer in pending if timer.fires_at <= now and timer.key not in seen]
    if duty is not None:
        raised = await name_people_on_duty(duty, tenant, project, raised, now)
    batch = AppendBatch(
        stream_id=work_order_id,
        expected_version=fresh.version,
        tenant=tenant,
        project=project,
        events=tuple(
            NewEvent(
                new_uuid(),
                type(e).type_name,
                type(e).schema_version,
                now,
                e.model_dump(mode="json"),
            )
            for e in raised
        ),
        metadata=EventMetadata(actor=SCHEDULER_ACTOR, correlation_id=f"sla:{work_order_id}"),
        # The offer-expiry timer shares the table: keep it (see assignment.py).
        inline=(
            StreamTimers(
                (*durable(pending, work_order_id), *offer_timer_rows(state, work_order_id))
            ),
        ),
    )
    await store.append(batch)
    return len(raised)


async def name_people_on_duty(
    duty: DutyDirectory, tenant: str, project: str, raised: list[EventData], now: datetime
) -> list[EventData]:
    """`raised` with each escalation to a directory role naming its people now: the
    supervisors on duty (else the on-call list), or the project's managers.

    Timer-fired steps come through the scheduler, event-driven ones (a second reopen)
    through the command that caused them; both name the same people.
    """
    # Read only when a step needs it: most events are not such escalations.
    if not any(isinstance(e, SlaEscalated) and needs_people(e) for e in raised):
        return raised
    staff = await duty.list_staff(tenant, project)
    roster = await duty.roster(tenant, project)
    return [
        with_people_on_duty(e, staff, roster, project, now) if isinstance(e, SlaEscalated) else e
        for e in raised
    ]
