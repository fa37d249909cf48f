"""Dispatch's handlers on fakes: the memory event store and a staff directory in memory.

The handlers run as in the service (the same functions, the same ports), with no
database: a test of what a command decides and appends takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.dispatch.adapters.memory_event_store import MemoryEventStore, MemoryProjectDirectory
from services.dispatch.domain.assignment import (
    Availability,
    DispatchFacts,
    DispatchRule,
    Roster,
    StaffMember,
    StaffRecord,
    Workload,
    acceptance_limit,
)
from services.dispatch.domain.commands import Command, RegisterProject, ReportWorkOrder
from services.dispatch.domain.workorder import OPEN_STATUSES, WorkOrderState
from services.dispatch.service_layer.context import CommandContext, Outcome
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.projects import change_project
from services.dispatch.service_layer.sla import DefaultSlaPolicies
from services.dispatch.service_layer.work_orders import execute, report_work_order
from shared.auth import Principal, Role
from shared.events.project import ProjectDetails
from shared.events.workorder import DispatchMode

TENANT = "acme"
PROJECT = "sunny-garden"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
_OPEN = frozenset(status.value for status in OPEN_STATUSES)


class MemoryStaffDirectory:
    """`StaffDirectory` of one project's technicians and one dispatch rule for every
    category; workloads are counted from the memory store's listing, as the SQL
    directory counts them from the table."""

    def __init__(self, store: MemoryEventStore, rule: DispatchRule | None) -> None:
        self._store = store
        self.rule = rule
        self.staff: list[StaffMember] = []

    def hire(self, staff_id: str, max_open_orders: int | None = None) -> None:
        """Put a plumber on duty in the project."""
        record = StaffRecord(
            name=staff_id,
            team="plumbers",
            trades=frozenset({"plumbing"}),
            projects=frozenset({PROJECT}),
            max_open_orders=max_open_orders,
        )
        self.staff.append(
            StaffMember(id=staff_id, record=record, availability=Availability.ON_DUTY)
        )

    async def dispatch_facts(
        self, tenant: str, project: str, category: str
    ) -> DispatchFacts | None:
        """The rule with the people and their open orders now."""
        if self.rule is None:
            return None
        open_orders: dict[str, int] = {}
        for listed in self._store.work_orders.values():
            if listed.view.assignee and listed.view.status in _OPEN:
                open_orders[listed.view.assignee] = open_orders.get(listed.view.assignee, 0) + 1
        workloads = {m.id: Workload(open_orders.get(m.id, 0)) for m in self.staff}
        return DispatchFacts(self.rule, self.staff, Roster(), workloads)

    async def records_of(
        self, tenant: str, project: str, staff_ids: set[str]
    ) -> dict[str, StaffRecord]:
        """The records of the people hired among `staff_ids`."""
        return {m.id: m.record for m in self.staff if m.id in staff_ids}

    async def acceptance_limit(
        self, tenant: str, project: str, state: WorkOrderState, staff_id: str
    ) -> int | None:
        """The domain's limit for the person under the rule."""
        member = next((m for m in self.staff if m.id == staff_id), None)
        return acceptance_limit(member, self.rule, state.urgency)

    async def reception(self, tenant: str, project: str) -> tuple[list[StaffMember], Roster]:
        """The staff, with no roster."""
        return self.staff, Roster()


def principal(subject: str, role: Role) -> Principal:
    return Principal(subject=subject, role=role, tenant=TENANT, projects=frozenset({PROJECT}))


@dataclass
class Dispatch:
    """The handlers wired to fakes, as `entrypoints.bootstrap` wires them to adapters."""

    store: MemoryEventStore = field(default_factory=MemoryEventStore)
    rule: DispatchRule | None = None
    policies: DefaultSlaPolicies = field(default_factory=DefaultSlaPolicies)
    now: datetime = T0

    def __post_init__(self) -> None:
        self.privacy = Privacy.in_memory(b"fake master key for the handlers.")
        self.projects = MemoryProjectDirectory(self.store)
        self.staff = MemoryStaffDirectory(self.store, self.rule)

    def ctx(self, subject: str, role: Role, key: str | None = None) -> CommandContext:
        return CommandContext(principal(subject, role), self.now, f"corr-{subject}", key)

    async def register_project(self) -> Outcome:
        details = ProjectDetails(name="阳光花园", households=800, code="SG")
        command = RegisterProject(project=PROJECT, details=details.model_dump())
        ctx = self.ctx("pm-1", Role.PROJECT_MANAGER)
        return await change_project(self.store, self.projects, PROJECT, command, ctx)

    async def report(self, command: ReportWorkOrder, key: str | None = None) -> Outcome:
        ctx = self.ctx("cs-1", Role.CUSTOMER_SERVICE, key)
        return await report_work_order(
            self.store, self.projects, self.policies, command, ctx, self.staff, privacy=self.privacy
        )

    async def run(
        self, work_order_id: str, command: Command, subject: str, role: Role = Role.TECHNICIAN
    ) -> Outcome:
        ctx = self.ctx(subject, role)
        return await execute(self.store, self.policies, work_order_id, command, ctx, self.staff)


def rule(mode: DispatchMode, load_limit: int = 5) -> DispatchRule:
    return DispatchRule(mode=mode, trade="plumbing", load_limit=load_limit)
