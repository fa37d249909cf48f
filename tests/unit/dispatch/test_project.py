"""The project registry: registering and updating a compound's facts."""

from __future__ import annotations

import pytest

from services.dispatch.domain.commands import RegisterProject, UpdateProject
from services.dispatch.domain.project import (
    ProjectState,
    decide_project,
    evolve_project,
    fold_project,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.project import Building, ProjectDetails, ProjectRegistered, ProjectUpdated

from .builders import HQ_QUALITY, PROJECT_MANAGER, SUPERVISOR, T0

SUNNY = ProjectDetails(
    name="阳光花园",
    households=1200,
    buildings=(Building(id="b1", name="1栋", households=600), Building(id="b2", name="2栋")),
)
REGISTERED = ProjectState(details=SUNNY, version=1)


def test_register_records_the_project() -> None:
    events = decide_project(
        None, RegisterProject(project="sunny-garden", details=SUNNY), PROJECT_MANAGER
    )

    assert events == [ProjectRegistered(details=SUNNY)]
    assert fold_project(events) == ProjectState(details=SUNNY, version=1)


def test_hq_quality_registers_projects_too() -> None:
    events = decide_project(
        None, RegisterProject(project="sunny-garden", details=SUNNY), HQ_QUALITY
    )

    assert events == [ProjectRegistered(details=SUNNY)]


def test_registering_an_existing_project_conflicts() -> None:
    with pytest.raises(Conflict) as refused:
        decide_project(
            REGISTERED, RegisterProject(project="sunny-garden", details=SUNNY), PROJECT_MANAGER
        )

    assert refused.value.code == "project_exists"
    assert refused.value.status == 409


def test_update_replaces_the_whole_record() -> None:
    bigger = SUNNY.model_copy(update={"households": 1500})

    events = decide_project(REGISTERED, UpdateProject(details=bigger), PROJECT_MANAGER)

    assert events == [ProjectUpdated(details=bigger)]
    assert evolve_project(REGISTERED, events[0], T0) == ProjectState(details=bigger, version=2)


def test_updating_an_unknown_project_is_not_found() -> None:
    with pytest.raises(NotFound) as refused:
        decide_project(None, UpdateProject(details=SUNNY), PROJECT_MANAGER)

    assert refused.value.code == "unknown_project"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "asia/shanghai "])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    details = SUNNY.model_copy(update={"time_zone": zone})

    with pytest.raises(InvalidInput) as refused:
        decide_project(
            None, RegisterProject(project="sunny-garden", details=details), PROJECT_MANAGER
        )

    assert refused.value.code == "unknown_time_zone"


def test_another_iana_time_zone_is_accepted() -> None:
    details = SUNNY.model_copy(update={"time_zone": "Asia/Urumqi"})

    [event] = decide_project(REGISTERED, UpdateProject(details=details), HQ_QUALITY)

    assert event == ProjectUpdated(details=details)


def test_building_ids_must_be_unique() -> None:
    twice = SUNNY.model_copy(
        update={"buildings": (Building(id="b1", name="1栋"), Building(id="b1", name="一栋"))}
    )

    with pytest.raises(InvalidInput) as refused:
        decide_project(REGISTERED, UpdateProject(details=twice), PROJECT_MANAGER)

    assert refused.value.code == "duplicate_building"


def test_a_unit_appears_once_in_its_building() -> None:
    twice = SUNNY.model_copy(
        update={"buildings": (Building(id="b1", name="1栋", units=("1-101", "1-102", "1-101")),)}
    )

    with pytest.raises(InvalidInput) as refused:
        decide_project(REGISTERED, UpdateProject(details=twice), PROJECT_MANAGER)

    assert refused.value.code == "duplicate_unit"
    assert "'1-101'" in refused.value.message


def test_a_registration_recorded_before_units_reads_with_none() -> None:
    old = {"name": "阳光花园", "households": 10, "buildings": [{"id": "b1", "name": "1栋"}]}

    details = ProjectRegistered.model_validate({"details": old}).details

    assert details.buildings[0].units == ()


def test_supervisor_does_not_keep_the_registry() -> None:
    with pytest.raises(Forbidden) as refused:
        decide_project(None, RegisterProject(project="sunny-garden", details=SUNNY), SUPERVISOR)

    assert refused.value.code == "role_not_allowed"


def test_fold_counts_every_event_and_keeps_the_last_details() -> None:
    renamed = SUNNY.model_copy(update={"name": "阳光花园二期"})
    history = [
        (ProjectRegistered(details=SUNNY), T0),
        (ProjectUpdated(details=SUNNY), T0),
        (ProjectUpdated(details=renamed), T0),
    ]

    assert fold_project(history) == ProjectState(details=renamed, version=3)
    assert fold_project([event for event, _ in history]) == ProjectState(details=renamed, version=3)
    assert fold_project([]) is None


def test_a_project_stream_starts_with_its_registration() -> None:
    with pytest.raises(ValueError):
        evolve_project(None, ProjectUpdated(details=SUNNY), T0)

    with pytest.raises(ValueError):
        evolve_project(REGISTERED, ProjectRegistered(details=SUNNY), T0)
