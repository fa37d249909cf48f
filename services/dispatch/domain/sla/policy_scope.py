"""Which projects an SLA policy version governs, and who may publish it for them.

A policy's scope follows its author's projects: a project manager of one project
publishes for that project only, and only an author whose token grants every project of
the tenant (headquarters) publishes a tenant-wide version. Of the versions that cover a
project, the newest governs its new clocks, whether tenant-wide or the project's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import NotFound

PolicyScope = frozenset[str] | None
"""The projects a version governs; None for every project of the tenant."""


def publishing_scope(
    author_projects: frozenset[str], author_all_projects: bool, asked: frozenset[str] | None
) -> PolicyScope:
    """The scope of a version the author publishes: the projects `asked` (each one the
    author's), else all of the author's projects, tenant-wide only for an author granted
    every project. A project the author may not see is refused as unknown (`NotFound`)."""
    if asked is None:
        return None if author_all_projects else author_projects
    foreign = sorted(asked - author_projects)
    if foreign and not author_all_projects:
        raise NotFound(f"project {foreign[0]!r} not found", code="unknown_project")
    return asked


def covers(scope: PolicyScope, project: str) -> bool:
    """Whether a version of this scope governs `project`'s new clocks."""
    return scope is None or project in scope


def visible_to(scope: PolicyScope, reader_projects: frozenset[str], all_projects: bool) -> bool:
    """Whether a reader sees a version: tenant-wide ones, and those of a project they see."""
    return scope is None or all_projects or bool(scope & reader_projects)


def governing(versions: Iterable[tuple[int, PolicyScope]], project: str | None) -> int | None:
    """The newest of `versions` that governs `project` (None: the newest tenant-wide one)."""
    found = [
        version
        for version, scope in versions
        if (scope is None if project is None else covers(scope, project))
    ]
    return max(found, default=None)
