"""Version 1 of the project-registry events (项目): what reporting needs of a compound."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData

UnitName = Annotated[str, Field(min_length=1, max_length=200)]
"""A unit (户/单元) as people write it on a work order's location (`1-101`, `1202`)."""


class Building(BaseModel):
    """A building (楼栋) of the project, how many households (户) it has and, when the
    project registers them, its units."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    households: Annotated[int, Field(ge=0)] = 0
    units: tuple[UnitName, ...] = Field(
        default=(),
        description=(
            "The building's units, in the order people pick them from (`1-101`, `1-102`); "
            "empty when the project registers none (then a work order's unit is typed). "
            "Absent in events recorded before units were registered."
        ),
        examples=[["1-101", "1-102", "1-201"]],
    )


class ProjectDetails(BaseModel):
    """The registered facts of a project; `households` is the denominator of the complaint rate."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = "Asia/Shanghai"
    households: Annotated[int, Field(ge=0)]
    buildings: tuple[Building, ...] = ()
    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")] | None = Field(
        default=None,
        description=(
            "The short code work-order numbers of the project start with (SG in "
            "SG-20261201-0042): 1-8 capital letters and digits, starting with a letter. "
            "Unset: derived from the project id (the initials of its words)."
        ),
        examples=["SG"],
    )


class ProjectRegistered(EventData):
    """A tenant registered a project (compound)."""

    type_name = "project.registered"

    details: ProjectDetails


class ProjectUpdated(EventData):
    """A project's registered facts changed; `details` is the whole new record."""

    type_name = "project.updated"

    details: ProjectDetails


PROJECT_EVENTS: tuple[type[EventData], ...] = (ProjectRegistered, ProjectUpdated)
