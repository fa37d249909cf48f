"""The project registry (项目): the compounds of a tenant and the facts reporting needs.

A project's state is the fold of its events like a work order's. Registering an existing
project or updating a missing one is refused; every update carries the whole new record
and is recorded even when nothing changed, so each accepted command leaves one event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.dispatch.domain.commands import RegisterProject, UpdateProject, published
from services.dispatch.domain.workorder import Actor, authorize
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.base import EventData
from shared.events.project import ProjectDetails, ProjectRegistered, ProjectUpdated


@dataclass(frozen=True)
class ProjectState:
    """A registered project: its current facts and the number of events folded."""

    details: ProjectDetails
    version: int


def decide_project(
    state: ProjectState | None, command: RegisterProject | UpdateProject, actor: Actor
) -> list[EventData]:
    """The events registering or updating a project produces.

    Raises `Forbidden`, `Conflict` (`project_exists`), `NotFound` (`unknown_project`) or
    `InvalidInput` (`unknown_time_zone`, `duplicate_building`, `duplicate_unit`).
    """
    authorize(command, actor, None)
    if isinstance(command, RegisterProject):
        if state is not None:
            raise Conflict(
                f"project {command.project!r} is already registered", code="project_exists"
            )
        _validate(command.details)
        return [ProjectRegistered(details=published(command.details, ProjectDetails))]
    if state is None:
        raise NotFound("no such project", code="unknown_project")
    _validate(command.details)
    return [ProjectUpdated(details=published(command.details, ProjectDetails))]


def _validate(details: ProjectDetails) -> None:
    try:
        ZoneInfo(details.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: keys like "../x" that are not even well-formed zone names.
        raise InvalidInput(
            f"unknown time zone {details.time_zone!r}; use an IANA name such as Asia/Shanghai",
            code="unknown_time_zone",
        ) from None
    seen: set[str] = set()
    for building in details.buildings:
        if building.id in seen:
            raise InvalidInput(
                f"building id {building.id!r} appears more than once", code="duplicate_building"
            )
        seen.add(building.id)
        if len(set(building.units)) != len(building.units):
            twice = next(u for u in building.units if building.units.count(u) > 1)
            raise InvalidInput(
                f"unit {twice!r} appears more than once in building {building.id!r}",
                code="duplicate_unit",
            )


def evolve_project(
    state: ProjectState | None, event: EventData, occurred_at: datetime | None = None
) -> ProjectState:
    """Apply one project event: the registration first, then updates; the version grows by one.

    `occurred_at` is accepted, and unused, so that it is called like the work-order `evolve`.
    """
    if isinstance(event, ProjectRegistered) and state is None:
        return ProjectState(details=event.details, version=1)
    if isinstance(event, ProjectUpdated) and state is not None:
        return ProjectState(details=event.details, version=state.version + 1)
    # A corrupt or foreign stream; never something a user can cause.
    raise ValueError(
        f"{event.type_name} cannot apply to project version {state.version if state else 0}"
    )


def fold_project(
    events: Iterable[EventData | tuple[EventData, datetime]],
) -> ProjectState | None:
    """The project after all events (bare, or `(event, occurred_at)` pairs); None if none."""
    state: ProjectState | None = None
    for item in events:
        event, occurred_at = item if isinstance(item, tuple) else (item, None)
        state = evolve_project(state, event, occurred_at)
    return state
