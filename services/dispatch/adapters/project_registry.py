"""The project registry (`projects`), kept inline: one row per project, after each append.

`SqlProjectDirectory` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.inline import Projection, Written
from services.dispatch.adapters.upsert import upsert
from services.dispatch.service_layer.ports import AppendBatch, ProjectView


class ProjectRegistry(Projection):
    """The registry's part in a group: upserts the rows of the projects written."""

    def __init__(self, conn: Connection, batches: Sequence[AppendBatch]) -> None:
        self._conn = conn

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """One upsert of every project's row, in key order; of several appends, the last."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for batch, result in written:
            view = batch.inline_of(ProjectView)
            if view is not None:
                rows[(view.tenant, view.project)] = project_row(view, result.version)
        if rows:
            upsert(self._conn, t.projects, ["tenant", "project"], [rows[k] for k in sorted(rows)])


def project_row(view: ProjectView, version: int) -> dict[str, Any]:
    """The `projects` row of a project's view at `version`."""
    return {
        "tenant": view.tenant,
        "project": view.project,
        "name": view.name,
        "time_zone": view.time_zone,
        "households": view.households,
        "details": view.details,
        "version": version,
    }
