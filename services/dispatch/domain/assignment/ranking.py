"""Who gets the work (派单): dispatch rules, eligibility, ranking with reasons, and the next step.

Eligible for an order (all must hold): has the rule's trade, covers the order's project and
building, set themselves `on_duty`, is on a roster shift now (a project without shifts
relies on availability alone), was not offered this order before, and has fewer open
orders than the load limit (their own, else the rule's) unless the order is urgent.

Ranking: fewest open orders first, then the longest idle (never assigned counts as idle
the longest), then a round-robin position (`rotation`) that changes from one order to the
next, so exact ties do not always go to the same person.

The same limit holds when an offer is accepted (`acceptance_limit`): in grab mode one
person may hold offers of several orders, and accepting them all must not take them over
it. The check runs in the acceptance's own transaction (the append's); a refusal is
`over_load_limit`.

`next_dispatch_step` turns that into an offer (auto: the first; grab: all) or, when nobody
is eligible or the attempts are used up, the pending-dispatch queue with an escalation to
the supervisors on duty (else the on-call list). Pure: the facts arrive as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.dispatch.domain.assignment.roster import Roster
from services.dispatch.domain.assignment.staff import (
    Availability,
    StaffMember,
    StaffRole,
    TradeName,
)
from shared.errors import Conflict
from shared.events.workorder import (
    DispatchMode,
    DispatchPending,
    Offered,
    OfferReasons,
    PendingReason,
    Urgency,
)

DEFAULT_OFFER_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LOAD_LIMIT = 5


class DispatchRule(BaseModel):
    """How one category of work of a project is dispatched (`PUT .../dispatch-rules/{category}`).

    The category `*` is the project's default for categories without their own rule; a
    project without any rule keeps dispatching by hand (nothing happens at a report).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: DispatchMode
    trade: TradeName = Field(description="The skill the work needs, e.g. plumbing.")
    load_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=DEFAULT_LOAD_LIMIT,
        description="Open orders above which a technician gets no more (urgent orders ignore it).",
    )
    offer_seconds: Annotated[int, Field(ge=5, le=86_400)] = Field(
        default=DEFAULT_OFFER_SECONDS, description="How long an offer waits for acceptance."
    )
    max_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=DEFAULT_MAX_ATTEMPTS,
        description="Offers made before the order goes to the pending-dispatch queue.",
    )


@dataclass(frozen=True, slots=True)
class Workload:
    """A technician's open work and when they were last assigned (None: never)."""

    open_orders: int = 0
    last_assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What eligibility needs to know about the work order."""

    project: str
    building: str | None
    urgency: Urgency
    rotation_key: int
    """Any integer that differs between orders (the order id's); it turns the round-robin."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible technician and why they rank where they do."""

    staff_id: str
    open_orders: int
    idle: timedelta | None
    """Time since the last assignment; None when never assigned (ranks as the longest)."""
    rotation: int
    trade: str
    project: str
    building: str | None
    """The order's building, if it names one: with the project, the place they cover."""
    limit: int | None
    """The load limit that held for them; None for an urgent order (the limit was skipped)."""

    @property
    def place(self) -> str:
        """The order's project, and building if it names one, in words."""
        return self.project + (f" building {self.building}" if self.building else "")

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why they are eligible and rank where they do, in words.

        Built when asked: a decision ranks every technician of the project but shows the
        reasons of those offered the work only (one in auto mode)."""
        allowed = (
            " (urgent: load limit skipped)" if self.limit is None else f" of {self.limit} allowed"
        )
        idle = "never assigned" if self.idle is None else f"idle {int(self.idle.total_seconds())} s"
        return (
            f"skill {self.trade}",
            f"covers {self.place}",
            "on duty",
            f"{self.open_orders} open orders{allowed}",
            idle,
        )

    def sort_key(self) -> tuple[int, int, float, int]:
        """Fewest open orders, then longest idle (never first), then rotation position."""
        never = 0 if self.idle is None else 1
        idle = 0.0 if self.idle is None else -self.idle.total_seconds()
        return (self.open_orders, never, idle, self.rotation)


def load_limit(member: StaffMember, rule: DispatchRule) -> int:
    """The open-order limit of `member` under `rule` (their own if set)."""
    return member.record.max_open_orders or rule.load_limit


def acceptance_limit(
    member: StaffMember | None, rule: DispatchRule | None, urgency: Urgency
) -> int | None:
    """The open-order limit an acceptance must respect, or None when it has none.

    Urgent orders skip the load limit. Otherwise the person's own `max_open_orders`
    counts, else the category's rule's; a category that has no rule any more (it went
    back to dispatching by hand) sets none. `member` is None for someone the project's
    directory no longer lists: the rule's limit still holds for them.
    """
    if urgency is Urgency.URGENT:
        return None
    if rule is None:
        return member.record.max_open_orders if member is not None else None
    return load_limit(member, rule) if member is not None else rule.load_limit


def load_limit_refusal(
    technician: str, open_orders: AbstractSet[str], work_order_id: str, limit: int
) -> Conflict | None:
    """The refusal of `technician` accepting `work_order_id`, or None when they may.

    They may while their open work orders other than this one are fewer than `limit`:
    accepting it makes at most `limit`. `open_orders` is counted where the acceptance is
    written, so that two acceptances at once cannot both pass on the same count.
    """
    others = sorted(open_orders - {work_order_id})
    if len(others) < limit:
        return None
    return over_load_limit(technician, others, limit)


def over_load_limit(technician: str, open_orders: Sequence[str], limit: int) -> Conflict:
    """The refusal of an acceptance that would put `technician` over `limit`.

    `open_orders` are the ids of their open work orders (this one not among them). The
    offer is left as it was: see docs/assignment.md for why.
    """
    shown = ", ".join(open_orders[:10]) + (
        f" and {len(open_orders) - 10} more" if len(open_orders) > 10 else ""
    )
    return Conflict(
        f"cannot accept offer: {technician} already has {len(open_orders)} open work orders "
        f"({shown}) and the load limit is {limit}; finish one first, or decline the offer "
        "so that it goes to someone else (it stays open to you until it expires)",
        code="over_load_limit",
        technician=technician,
        limit=limit,
        open_orders=len(open_orders),
        open_work_orders=list(open_orders),
    )


class IneligibleCode(StrEnum):
    """Which eligibility rule someone fails: the first one `why_not` finds, in its order."""

    NOT_TECHNICIAN = "not_technician"
    NO_SKILL = "no_skill"
    NOT_COVERING = "not_covering"
    UNAVAILABLE = "unavailable"
    OFF_SHIFT = "off_shift"
    OFFERED_ALREADY = "offered_already"
    AT_LOAD_LIMIT = "at_load_limit"


_IN_WORDS: Mapping[IneligibleCode, str] = {
    IneligibleCode.NOT_TECHNICIAN: "not a technician",
    IneligibleCode.NO_SKILL: "no {trade} skill",
    IneligibleCode.NOT_COVERING: "does not cover this location",
    IneligibleCode.UNAVAILABLE: "availability is {availability}",
    IneligibleCode.OFF_SHIFT: "not on a roster shift now",
    IneligibleCode.OFFERED_ALREADY: "was offered this order already",
    IneligibleCode.AT_LOAD_LIMIT: "has {open_orders} open orders, limit {limit}",
}


class Ineligible(str):
    """Why someone may not be offered an order: the rule they fail (`code`) and its facts.

    It is the English sentence dispatch has always given (a `str`, so whoever reads the
    sentence sees no change); the code and facts let a reader word it in their own language.
    Only the facts of its code are set: `trade` (no_skill), `availability` (unavailable),
    `open_orders` and `limit` (at_load_limit).
    """

    code: IneligibleCode
    trade: str | None
    availability: Availability | None
    open_orders: int | None
    limit: int | None

    def __new__(
        cls,
        code: IneligibleCode,
        *,
        trade: str | None = None,
        availability: Availability | None = None,
        open_orders: int | None = None,
        limit: int | None = None,
    ) -> Ineligible:
        shown = availability.value if availability is not None else None
        words = _IN_WORDS[code].format(
            trade=trade, availability=shown, open_orders=open_orders, limit=limit
        )
        refusal = super().__new__(cls, words)
        refusal.code = code
        refusal.trade = trade
        refusal.availability = availability
        refusal.open_orders = open_orders
        refusal.limit = limit
        return refusal


def why_not(
    member: StaffMember,
    rule: DispatchRule,
    order: OrderFacts,
    workload: Workload,
    on_duty: frozenset[str] | None,
    tried: AbstractSet[str],
) -> Ineligible | None:
    """Why `member` may not be offered the order, or None when they may.

    `on_duty` is who the roster has on shift now; None means the project has no shifts.
    `tried`: who was offered this order before.
    """
    if member.record.role is not StaffRole.TECHNICIAN:
        return Ineligible(IneligibleCode.NOT_TECHNICIAN)
    if not member.has_trade(rule.trade):
        return Ineligible(IneligibleCode.NO_SKILL, trade=rule.trade)
    if not member.covers(order.project, order.building):
        return Ineligible(IneligibleCode.NOT_COVERING)
    if member.availability is not Availability.ON_DUTY:
        return Ineligible(IneligibleCode.UNAVAILABLE, availability=member.availability)
    if on_duty is not None and member.id not in on_duty:
        return Ineligible(IneligibleCode.OFF_SHIFT)
    if member.id in tried:
        return Ineligible(IneligibleCode.OFFERED_ALREADY)
    limit = load_limit(member, rule)
    if order.urgency is not Urgency.URGENT and workload.open_orders >= limit:
        return Ineligible(
            IneligibleCode.AT_LOAD_LIMIT, open_orders=workload.open_orders, limit=limit
        )
    return None


def rank(
    staff: Sequence[StaffMember],
    rule: DispatchRule,
    order: OrderFacts,
    workloads: Mapping[str, Workload],
    on_duty: frozenset[str] | None,
    tried: Iterable[str],
    now: datetime,
) -> tuple[list[Candidate], dict[str, Ineligible]]:
    """The eligible technicians best first, and why each other one is not eligible."""
    tried = frozenset(tried)
    ordered = sorted(staff, key=lambda m: m.id)
    # The round-robin: each order starts the rotation at another position.
    start = order.rotation_key % len(ordered) if ordered else 0
    urgent = order.urgency is Urgency.URGENT
    never = Workload()
    candidates: list[Candidate] = []
    refused: dict[str, Ineligible] = {}
    for position, member in enumerate(ordered):
        workload = workloads.get(member.id, never)
        refusal = why_not(member, rule, order, workload, on_duty, tried)
        if refusal is not None:
            refused[member.id] = refusal
            continue
        idle = None if workload.last_assigned_at is None else now - workload.last_assigned_at
        rotation = (position - start) % len(ordered)
        limit = None if urgent else load_limit(member, rule)
        candidates.append(
            Candidate(
                member.id,
                workload.open_orders,
                idle,
                rotation,
                rule.trade,
                order.project,
                order.building,
                limit,
            )
        )
    candidates.sort(key=Candidate.sort_key)
    return candidates, refused


def offer_reasons(candidates: Sequence[Candidate]) -> tuple[OfferReasons, ...]:
    """The candidates as the `offers` of a `workorder.offered` event, ranked from 1."""
    return tuple(
        OfferReasons(
            technician=c.staff_id,
            rank=i,
            open_orders=c.open_orders,
            idle_seconds=None if c.idle is None else max(c.idle.total_seconds(), 0.0),
            rotation=c.rotation,
            reasons=(*c.reasons, f"rotation position {c.rotation}"),
        )
        for i, c in enumerate(candidates, start=1)
    )


def escalation(
    staff: Sequence[StaffMember], roster: Roster, on_duty: frozenset[str] | None
) -> tuple[str, tuple[str, ...]]:
    """Whom a pending order is escalated to: supervisors on duty, else the on-call list."""
    supervisors = tuple(
        sorted(
            m.id
            for m in staff
            if m.record.role is StaffRole.SUPERVISOR
            and m.availability is Availability.ON_DUTY
            and (on_duty is None or m.id in on_duty)
        )
    )
    if supervisors:
        return "on_duty_supervisor", supervisors
    if roster.on_call:
        return "on_call", roster.on_call
    return "none", ()


@dataclass(frozen=True, slots=True)
class DispatchFacts:
    """Everything the next dispatch step depends on, read by the service layer."""

    rule: DispatchRule
    staff: Sequence[StaffMember]
    roster: Roster
    workloads: Mapping[str, Workload]


def next_dispatch_step(
    facts: DispatchFacts,
    order: OrderFacts,
    attempts_made: int,
    tried: Iterable[str],
    now: datetime,
) -> Offered | DispatchPending | None:
    """The next offer of an unassigned order, or its entry into the pending queue.

    None in manual mode: a dispatcher picks, helped by `rank`'s suggestions.
    """
    rule = facts.rule
    if rule.mode is DispatchMode.MANUAL:
        return None
    on_duty = facts.roster.on_duty(now) if facts.roster.shifts else None
    if attempts_made >= rule.max_attempts:
        return _pending(facts, on_duty, PendingReason.ATTEMPTS_EXHAUSTED, attempts_made)
    candidates, _ = rank(facts.staff, rule, order, facts.workloads, on_duty, tried, now)
    if not candidates:
        return _pending(facts, on_duty, PendingReason.NOBODY_ELIGIBLE, attempts_made)
    chosen = candidates[:1] if rule.mode is DispatchMode.AUTO else candidates
    return Offered(
        mode=rule.mode,
        attempt=attempts_made + 1,
        trade=rule.trade,
        expires_at=now + timedelta(seconds=rule.offer_seconds),
        offers=offer_reasons(chosen),
    )


def _pending(
    facts: DispatchFacts, on_duty: frozenset[str] | None, reason: PendingReason, attempts: int
) -> DispatchPending:
    level, people = escalation(facts.staff, facts.roster, on_duty)
    return DispatchPending(reason=reason, attempts=attempts, escalation=level, escalated_to=people)
