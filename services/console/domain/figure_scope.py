"""Which orders headquarters' figures count, and how they are split: the scope of the
quality page besides its period.

reporting narrows a figure to one project, building, kind, category, technician or team
(filters) and gives it per value of one of them as well (`group_by`). The page offers
only values it can name (the projects' registered buildings, the categories, the staff
directory's technicians, the teams, the kinds): a value outside those is dropped as an unknown
project is, so a hand-edited address shows the wider figure, never a blank one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FILTERS = ("building", "kind", "category", "technician", "team")
"""reporting's filters the page offers besides the project, in the form's order."""
GROUPINGS = ("project", *FILTERS)
"""What the figures can be split by (reporting's `group_by`)."""


@dataclass(frozen=True)
class ScopeChoices:
    """The values the page offers for each filter, each with the name it shows."""

    projects: Mapping[str, str] = field(default_factory=dict)
    building: Mapping[str, str] = field(default_factory=dict)
    kind: Mapping[str, str] = field(default_factory=dict)
    category: Mapping[str, str] = field(default_factory=dict)
    technician: Mapping[str, str] = field(default_factory=dict)
    team: Mapping[str, str] = field(default_factory=dict)

    def of(self, dimension: str) -> Mapping[str, str]:
        """The values of `dimension` (a grouping: the projects or one of the filters)."""
        if dimension == "project":
            return self.projects
        chosen: Mapping[str, str] = getattr(self, dimension)
        return chosen


@dataclass(frozen=True)
class FigureScope:
    """The project, the filters set and the grouping chosen (each optional)."""

    project: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    group_by: str | None = None

    def reporting_params(self) -> dict[str, str]:
        """reporting's scope parameters (`project` and the filters; not the grouping)."""
        params = {"project": self.project} if self.project else {}
        return {**params, **self.filters}

    def page_params(self) -> dict[str, str]:
        """What the page's links carry to keep this scope (the grouping included)."""
        grouped = {"group_by": self.group_by} if self.group_by else {}
        return {**self.reporting_params(), **grouped}

    def narrowed(self, dimension: str, value: str) -> FigureScope:
        """This scope with `dimension` set to `value`: the drill-down of one group's figure."""
        if dimension == "project":
            return FigureScope(value, self.filters, self.group_by)
        return FigureScope(self.project, {**self.filters, dimension: value}, self.group_by)

    @property
    def narrowed_beyond_project(self) -> bool:
        """Whether a filter other than the project is set (notifications are per project)."""
        return bool(self.filters)


def choose_scope(query: Mapping[str, str], choices: ScopeChoices) -> FigureScope:
    """The scope a page's query asks for, keeping only the values `choices` offers."""
    project = query.get("project") or None
    if project not in choices.projects:
        project = None
    filters = {
        name: value
        for name in FILTERS
        if (value := query.get(name) or "") and value in choices.of(name)
    }
    group_by = query.get("group_by") or None
    if group_by not in GROUPINGS:
        group_by = None
    return FigureScope(project, filters, group_by)
