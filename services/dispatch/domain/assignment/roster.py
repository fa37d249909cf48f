"""Duty rosters (排班): who is on duty when, per team, and who is on call otherwise.

A shift names a team's members and when they work, as a business calendar of the SLA
engine (`calendar.BusinessCalendar`: 24×7, daily windows such as customer service's
07:00–23:00, or working days). Rotations (轮班) are a cycle of days: a shift with
`cycle_days=3, on_days=(0,)` works one day in three counted from `anchor`, so three such
shifts anchored on consecutive days cover every day. The day of an instant is its local
date in the calendar's zone, so a night window crossing midnight is written as two
windows of two shifts' days.

The on-call list (值班电话) of a project is for the hours when no supervisor is on duty:
escalations go to it instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.dispatch.domain.assignment.staff import StaffId
from services.dispatch.domain.sla import DEFAULT_TIME_ZONE, BusinessCalendar
from shared.inputs import ONE_LINE


class Shift(BaseModel):
    """When some members of a team are on duty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    team: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    members: tuple[StaffId, ...] = Field(min_length=1)
    calendar: BusinessCalendar = Field(default_factory=BusinessCalendar.always)
    cycle_days: Annotated[int, Field(ge=1, le=28)] = 1
    on_days: tuple[Annotated[int, Field(ge=0)], ...] = (0,)
    anchor: date = date(2024, 1, 1)

    @model_validator(mode="after")
    def _days_inside_cycle(self) -> Self:
        if not self.on_days or any(day >= self.cycle_days for day in self.on_days):
            raise ValueError("on_days must be day numbers below cycle_days")
        return self

    def in_zone(self, time_zone: str) -> Shift:
        """The shift with its calendar read in the project's zone where it names none."""
        return self.model_copy(update={"calendar": self.calendar.in_zone(time_zone)})

    def is_on(self, at: datetime) -> bool:
        """Whether this shift is working at the instant `at`."""
        if not self.calendar.is_open(at):
            return False
        zone = ZoneInfo(self.calendar.time_zone or DEFAULT_TIME_ZONE)
        day = (at.astimezone(zone).date() - self.anchor).days % self.cycle_days
        return day in self.on_days


class Roster(BaseModel):
    """A project's shifts and on-call list (`PUT /v1/projects/{project}/roster`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shifts: tuple[Shift, ...] = ()
    on_call: tuple[StaffId, ...] = Field(
        default=(), description="Who is told when no supervisor is on duty (公示值班电话)."
    )
    receiver: StaffId | None = Field(
        default=None,
        description=(
            "The project's designated receiver (指定接待人): owns the reports residents "
            "make in the app while no customer service is on duty."
        ),
    )

    def in_zone(self, time_zone: str) -> Roster:
        """The roster with every shift calendar that names no zone read in `time_zone`."""
        return self.model_copy(update={"shifts": tuple(s.in_zone(time_zone) for s in self.shifts)})

    def on_duty(self, at: datetime) -> frozenset[str]:
        """Everyone some shift has on duty at `at`."""
        return frozenset(member for s in self.shifts if s.is_on(at) for member in s.members)
