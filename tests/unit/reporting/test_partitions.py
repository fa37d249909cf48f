"""A rebuild's partitions: whole projects, balanced by events, the same every time."""

from __future__ import annotations

from services.reporting.adapters.partitions import Partition, group_of, split

COUNTS = {
    "events.acme.sunny.workorder.reported": 500,
    "events.acme.sunny.workorder.assigned": 400,
    "events.acme.river.workorder.reported": 300,
    "events.acme.river.project.registered": 1,
    "events.globex.north.workorder.reported": 350,
    "events.globex.south.workorder.reported": 100,
    "events.odd": 2,
}


def test_every_event_of_a_project_is_in_one_partition() -> None:
    assert group_of("events.acme.sunny.workorder.reported") == "events.acme.sunny.>"
    assert group_of("events.acme.sunny.project.registered") == "events.acme.sunny.>"
    # A subject without aggregate and event selects itself alone.
    assert group_of("events.odd") == "events.odd"


def test_projects_are_dealt_largest_first_to_the_lightest_partition() -> None:
    assert split(COUNTS, 2) == (
        Partition(("events.acme.sunny.>",), 900),
        Partition(
            ("events.acme.river.>", "events.globex.north.>", "events.globex.south.>", "events.odd"),
            753,
        ),
    )
    assert split(COUNTS, 2) == split(dict(reversed(COUNTS.items())), 2)


def test_no_more_partitions_than_projects_and_no_event_lost() -> None:
    partitions = split(COUNTS, 16)
    assert len(partitions) == 5
    assert sum(p.events for p in partitions) == sum(COUNTS.values())
    assert split(COUNTS, 1) == (Partition(tuple(sorted({group_of(s) for s in COUNTS})), 1653),)
