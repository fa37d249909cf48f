"""The quality page's scope: only values it can name are kept, links keep the scope, and a
group's drill-down narrows it to the group."""

from __future__ import annotations

from services.console.domain.figure_scope import FigureScope, ScopeChoices, choose_scope

CHOICES = ScopeChoices(
    projects={"sunny": "阳光花园", "river": "River"},
    building={"b1": "1号楼"},
    kind={"repair": "维修"},
    category={"plumbing": "水暖"},
    technician={"tech-wang": "王师傅"},
    team={"maintenance": "维修班"},
)


def test_the_values_offered_are_kept_in_the_forms_order() -> None:
    scope = choose_scope(
        {"team": "maintenance", "technician": "tech-wang", "building": "b1", "project": "sunny",
         "kind": "repair", "category": "plumbing", "group_by": "team"},
        CHOICES,
    )  # fmt: skip
    assert scope.project == "sunny" and scope.group_by == "team"
    assert list(scope.filters) == ["building", "kind", "category", "technician", "team"]
    assert scope.reporting_params() == {
        "project": "sunny", "building": "b1", "kind": "repair", "category": "plumbing",
        "technician": "tech-wang", "team": "maintenance",
    }  # fmt: skip
    assert scope.page_params()["group_by"] == "team"
    assert "group_by" not in scope.reporting_params()


def test_a_value_the_page_does_not_offer_is_dropped() -> None:
    scope = choose_scope(
        {"project": "elsewhere", "building": "b9", "technician": "", "group_by": "resident",
         "unit": "1-101"},
        CHOICES,
    )  # fmt: skip
    assert scope == FigureScope()
    assert scope.page_params() == {} and not scope.narrowed_beyond_project


def test_a_groups_drill_down_adds_the_group_to_the_filters() -> None:
    scope = choose_scope({"building": "b1", "group_by": "technician"}, CHOICES)
    narrowed = scope.narrowed("technician", "tech-wang")
    assert narrowed.filters == {"building": "b1", "technician": "tech-wang"}
    assert narrowed.group_by == "technician"
    by_project = scope.narrowed("project", "river")
    assert by_project.project == "river" and by_project.filters == {"building": "b1"}
    assert narrowed.narrowed_beyond_project and not FigureScope("sunny").narrowed_beyond_project
