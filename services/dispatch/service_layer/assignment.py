"""Assignment around each command: the offer (or pending queue) a decision calls for.

A report in a project whose category has an auto or grab rule is followed, in the same
append, by `workorder.offered` (or `workorder.dispatch_pending`), so "reported → offered"
costs no second round trip and nothing sits unassigned. A decline that leaves no open
offer, an expired offer, and the reopening of an order that never had a technician are
followed the same way by the next offer. The offer's
expiry is a row of the durable timer table (clock `offer`), replaced with every append
like the SLA timers and fired by the same scheduler (`expire_offer`).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Protocol

from services.dispatch.domain.assignment import (
    DispatchFacts,
    OrderFacts,
    Roster,
    StaffMember,
    StaffRecord,
    first_receiver,
    next_dispatch_step,
)
from services.dispatch.domain.workorder import Status, WorkOrderState, evolve
from services.dispatch.service_layer.ports import LoadGuard, TimerRow
from services.dispatch.service_layer.timers import OfferExpiry
from shared.events.base import EventData
from shared.events.workorder import (
    Assigned,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentReturned,
    OfferExpired,
    OwnerTransferred,
    Reassigned,
    Reopened,
    WorkOrderReported,
)

ASSIGNMENT_ACTOR = "dispatch-assignment"
"""The `actor` of the events the assignment engine records on its own (expiries, re-offers)."""


class StaffDirectory(Protocol):
    """The staff, rosters and dispatch rules a dispatch decision reads."""

    async def dispatch_facts(
        self, tenant: str, project: str, category: str
    ) -> DispatchFacts | None:
        """The rule for `category` in `project` with the people, roster and workloads it
        ranks; None when the project dispatches that category by hand (no rule)."""
        ...

    async def records_of(
        self, tenant: str, project: str, staff_ids: set[str]
    ) -> dict[str, StaffRecord]:
        """The directory entry of each of these people who is in it (others: absent)."""
        ...

    async def acceptance_limit(
        self, tenant: str, project: str, state: WorkOrderState, staff_id: str
    ) -> int | None:
        """The open-order limit `staff_id` may not exceed by accepting the order in
        `state` (`domain.assignment.acceptance_limit`); None: no limit applies."""
        ...

    async def reception(self, tenant: str, project: str) -> tuple[list[StaffMember], Roster]:
        """The project's staff and roster, as a resident's report is received with."""
        ...


async def first_receiver_of(
    staff: StaffDirectory | None, tenant: str, project: str, work_order_id: str, now: datetime
) -> str | None:
    """Who owns a report a resident makes in the app (`domain.assignment.first_receiver`);
    None when nobody receives it (or dispatch runs without a staff directory)."""
    if staff is None:
        return None
    people, roster = await staff.reception(tenant, project)
    return first_receiver(people, roster, project, now, zlib.crc32(work_order_id.encode()))


def calls_for_dispatch(state: WorkOrderState, decided: list[EventData]) -> bool:
    """Whether the events just decided leave an unassigned order needing an offer.

    That is after a report, a decline, an expiry, a technician's hand-back or transfer
    request (退单/转单), and a reopening of an order nobody was ever assigned (a
    complaint settled by phone that came back). A reopened order with a
    technician stays theirs (返修), and `reassign` always names the next person.
    """
    if not decided or not isinstance(
        decided[-1],
        WorkOrderReported | AssignmentDeclined | OfferExpired | Reopened | AssignmentReturned,
    ):
        return False
    return (
        state.status is Status.REPORTED
        and state.assignee is None
        and not state.offered_to
        and not state.dispatch_pending
    )


def order_facts(work_order_id: str, project: str, state: WorkOrderState) -> OrderFacts:
    """What eligibility needs of the order; the id's bits turn the round-robin."""
    return OrderFacts(
        project=project,
        building=state.location.building,
        urgency=state.urgency,
        rotation_key=zlib.crc32(work_order_id.encode()),
    )


async def dispatch_after(
    staff: StaffDirectory | None,
    tenant: str,
    project: str,
    work_order_id: str,
    state: WorkOrderState | None,
    decided: list[EventData],
    now: datetime,
) -> list[EventData]:
    """`decided`, with the assignees' teams and the people's names filled in, followed by
    the dispatch step it calls for (an offer or the pending queue)."""
    if staff is None or not decided:
        return decided
    decided = await with_people(staff, tenant, project, decided)
    after = state
    for event in decided:
        after = evolve(after, event, now)
    assert after is not None
    if not calls_for_dispatch(after, decided):
        return decided
    facts = await staff.dispatch_facts(tenant, project, after.category)
    if facts is None:
        return decided
    order = order_facts(work_order_id, project, after)
    step = next_dispatch_step(facts, order, after.offer_attempt, after.tried, now)
    return decided if step is None else [*decided, step]


async def acceptance_guard(
    staff: StaffDirectory | None,
    tenant: str,
    project: str,
    state: WorkOrderState,
    decided: list[EventData],
) -> LoadGuard | None:
    """The load limit the append of `decided` must hold if it accepts an offer.

    Checked by the store in the acceptance's own transaction, so a technician holding
    several grab offers cannot accept their way over the limit (urgent orders excepted).
    """
    accepted = next((e.technician for e in decided if isinstance(e, AssignmentAccepted)), None)
    if staff is None or accepted is None:
        return None
    limit = await staff.acceptance_limit(tenant, project, state, accepted)
    return None if limit is None else LoadGuard(accepted, limit)


async def with_people(
    staff: StaffDirectory, tenant: str, project: str, decided: list[EventData]
) -> list[EventData]:
    """`decided` with the team and name of each person an event makes the owner or the
    assignee, for everyone the directory knows.

    Reporting counts work per team; the team is the person's at the moment of the
    assignment, so it goes into the event rather than being looked up later. The name is
    what notify tells the resident (负责跟进的客服是…) instead of a staff id: staff data,
    carried in the events notify already reads, so it never has to ask dispatch.
    """
    named = {person for e in decided if (person := _person_named(e)) is not None}
    if not named:
        return decided
    records = await staff.records_of(tenant, project, named)
    return [_with_person(e, records) for e in decided]


def _person_named(event: EventData) -> str | None:
    """The staff member an event makes owner or assignee, if any."""
    match event:
        case WorkOrderReported(owner=person) | OwnerTransferred(to_owner=person):
            return person
        case Assigned(assignee=person) | Reassigned(to_assignee=person):
            return person
    return None


def _with_person(event: EventData, records: dict[str, StaffRecord]) -> EventData:
    person = _person_named(event)
    record = records.get(person) if person is not None else None
    if record is None:
        return event
    match event:
        case WorkOrderReported():
            return event.model_copy(update={"owner_name": record.name})
        case OwnerTransferred():
            return event.model_copy(update={"to_owner_name": record.name})
        case Assigned(team=team):
            return event.model_copy(
                update={"team": team or record.team, "assignee_name": record.name}
            )
        case Reassigned(team=team):
            update = {"team": team or record.team, "to_assignee_name": record.name}
            return event.model_copy(update=update)
    return event


def offer_timer_rows(state: WorkOrderState, work_order_id: str) -> tuple[TimerRow, ...]:
    """The durable expiry timer of the open offer, if there is one."""
    if not state.offered_to or state.offer_expires_at is None or state.assignee is not None:
        return ()
    return (OfferExpiry(work_order_id, state.offer_attempt, state.offer_expires_at).row(),)


def expiry_of(state: WorkOrderState, attempt: int) -> list[EventData]:
    """The expiry of offer `attempt` if it is still open (a timer may be stale: idempotent)."""
    if state.status is not Status.REPORTED or state.offer_attempt != attempt:
        return []
    if not state.offered_to:
        return []
    return [OfferExpired(attempt=attempt, technicians=state.offered_to)]
