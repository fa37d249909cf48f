"""The caller on the take-a-call form: the units a building registers, and filling the
form from a resident dispatch found by phone (住户查询)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def building_units(project: Mapping[str, Any] | None, building: str) -> list[str]:
    """The units a project's building registers, in their order; empty when it registers
    none (then the unit is typed)."""
    for entry in (project or {}).get("buildings") or ():
        if isinstance(entry, Mapping) and entry.get("id") == building:
            return [str(unit) for unit in entry.get("units") or ()]
    return []


def units_by_building(projects: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every registered unit list, keyed `<project>-<building>` (the form's unit lists)."""
    return {
        f"{slug}-{entry['id']}": [str(unit) for unit in entry["units"]]
        for slug, project in projects.items()
        for entry in project.get("buildings") or ()
        if isinstance(entry, Mapping) and entry.get("id") and entry.get("units")
    }


def picked(
    values: Mapping[str, str], residents: Sequence[Mapping[str, Any]], choice: str
) -> dict[str, str] | None:
    """The form's values with the resident chosen as `<resident>:<home>` (indexes into the
    search's answer; no home: the name only) filled in; None for a choice not offered."""
    resident_part, _, home_part = choice.partition(":")
    if not resident_part.isdigit() or int(resident_part) >= len(residents):
        return None
    resident = residents[int(resident_part)]
    filled = {**values, "name": str(resident.get("name") or "")}
    if not home_part:
        return filled
    homes = resident.get("homes") or []
    if not home_part.isdigit() or int(home_part) >= len(homes):
        return None
    home = homes[int(home_part)]
    filled.update(
        project=str(home.get("project") or ""),
        building=str(home.get("building") or ""),
        unit=str(home.get("unit") or ""),
    )
    return filled
