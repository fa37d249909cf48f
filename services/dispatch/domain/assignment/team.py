"""Teams (班组): the units a property group's staff work in, and that rosters plan.

A team belongs to one tenant, works in some of its projects, covers some trades (the
maintenance team: plumbing, electrical, …; the service desk: customer_service) and has
its supervisors (班组长), the people to ask about its work. Staff records and roster shifts
name their team by id, so a team must exist before they name it, and cannot be removed
while they do.

Configuration, like the staff directory: the latest record is what counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from services.dispatch.domain.assignment.staff import Name, StaffId, TradeName
from shared.errors import InvalidInput
from shared.inputs import ONE_LINE
from shared.subjects import Slug

TeamId = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
"""A team's id within its tenant, as staff records and roster shifts name it."""


class TeamRecord(BaseModel):
    """A team as a manager writes it (`PUT /v1/teams/{id}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name = Field(description="The team's name as people say it.", examples=["维修班"])
    trades: frozenset[TradeName] = Field(
        default=frozenset(), description="The trades the team covers, e.g. plumbing, electrical."
    )
    projects: frozenset[Slug] = Field(min_length=1, description="The projects it works in.")
    supervisors: frozenset[StaffId] = Field(
        default=frozenset(), description="Its supervisors (班组长), by staff id."
    )

    @field_serializer("trades", "projects", "supervisors")
    def _sorted(self, names: frozenset[str]) -> list[str]:
        # Sets have no order; the API and the stored JSON list them alphabetically.
        return sorted(names)


class Team(BaseModel):
    """A team with its id."""

    model_config = ConfigDict(frozen=True)

    id: TeamId
    record: TeamRecord


def team_uses(
    team_id: str, staff_teams: dict[str, str], roster_teams: dict[str, set[str]]
) -> list[str]:
    """What still names `team_id`: staff (by id) and projects whose roster has a shift of it.

    `staff_teams` is each person's team; `roster_teams` each project's shift teams.
    """
    staff = sorted(person for person, team in staff_teams.items() if team == team_id)
    projects = sorted(project for project, teams in roster_teams.items() if team_id in teams)
    return [*(f"staff {p}" for p in staff), *(f"roster of {p}" for p in projects)]


def unknown_team(team_ids: Iterable[str]) -> InvalidInput:
    """The refusal (`InvalidInput` with code `unknown_team`) of a staff record or roster
    naming teams that do not exist, or that the writer cannot see: the two read alike."""
    names = ", ".join(repr(team_id) for team_id in sorted(team_ids))
    return InvalidInput(
        f"no team {names}: create it with PUT /v1/teams/{{id}} first", code="unknown_team"
    )
