"""The staff directory (员工档案): who can be sent, for which trades, where.

A staff member belongs to one tenant, works in one team, has trades (skills such as
plumbing, electrical, elevator, doors_and_locks, cleaning, security, customer_service;
any slug a tenant uses), covers some projects and, inside them, some buildings (none
named: every building of those projects), and sets their own availability.

This is configuration, not an event-sourced aggregate: the latest record is what counts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.inputs import ONE_LINE
from shared.subjects import Slug

StaffId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")]
TradeName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]
Name = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]

COMMON_TRADES: tuple[str, ...] = (
    "plumbing",
    "electrical",
    "elevator",
    "doors_and_locks",
    "cleaning",
    "security",
    "customer_service",
)
"""The trades of a property group's usual teams; tenants may use others."""


class Availability(StrEnum):
    """What a technician says about themselves: only `on_duty` can receive offers."""

    ON_DUTY = "on_duty"
    BUSY = "busy"
    OFF = "off"


class StaffRole(StrEnum):
    """The job a staff member does: only technicians are offered work orders.

    Supervisors receive dispatch and SLA escalations through the duty roster; project
    managers (项目经理) receive the SLA escalations to their role for the projects they
    cover, without shifts.
    """

    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    DISPATCHER = "dispatcher"
    CUSTOMER_SERVICE = "customer_service"
    PROJECT_MANAGER = "project_manager"


class StaffRecord(BaseModel):
    """A staff member's directory entry, as a manager writes it (`PUT /v1/staff/{id}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    role: StaffRole = StaffRole.TECHNICIAN
    team: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE] = Field(
        description="The team (班组) whose roster shifts name this person.",
        examples=["maintenance"],
    )
    trades: frozenset[TradeName] = Field(
        default=frozenset(), description="Skills, e.g. plumbing, electrical, elevator."
    )
    projects: frozenset[Slug] = Field(min_length=1, description="Projects covered.")
    buildings: frozenset[Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]] = Field(
        default=frozenset(),
        description="Buildings covered inside those projects; empty covers them all.",
    )
    max_open_orders: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="This person's own load limit; the dispatch rule's if unset."
    )


class StaffMember(BaseModel):
    """A directory entry with its id and the availability its owner set."""

    model_config = ConfigDict(frozen=True)

    id: StaffId
    record: StaffRecord
    availability: Availability = Availability.OFF

    def has_trade(self, trade: str) -> bool:
        """Whether the person can do work of `trade`."""
        return trade in self.record.trades

    def covers(self, project: str, building: str | None) -> bool:
        """Whether the person works at `building` of `project` (None: anywhere in it)."""
        if project not in self.record.projects:
            return False
        buildings = self.record.buildings
        return not buildings or building is None or building in buildings
