"""NATS subjects of the public bus contract, and the slug rule for tenant and project ids."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from shared.errors import InvalidInput

SLUG_PATTERN = r"^[a-z0-9_-]{1,64}$"
_SLUG = re.compile(SLUG_PATTERN)

EVENTS_STREAM = "EVENTS"
KPI_STREAM = "KPI"
EVENTS_SUBJECTS = "events.>"
KPI_SUBJECTS = "kpi.>"


def validate_slug(value: str, what: str = "id") -> str:
    """Return `value` if it is a valid tenant/project slug, else raise `InvalidInput`.

    Slugs become NATS subject tokens, so dots, spaces and wildcards must never get in.
    """
    if not _SLUG.match(value):
        raise InvalidInput(
            f"{what} {value!r} is not a slug: use 1-64 characters of a-z, 0-9, '_' and '-'",
            code="invalid_slug",
        )
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be 1-64 characters of a-z, 0-9, '_' and '-'")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
"""A tenant or project id, validated by pydantic at the edge."""


def event_subject(tenant: str, project: str, event_type: str) -> str:
    """Subject of a domain event: `events.<tenant>.<project>.<aggregate>.<event>`.

    `event_type` is the unversioned type name, e.g. `workorder.reported`.
    """
    aggregate, _, name = event_type.partition(".")
    if not aggregate or not name or "." in name:
        raise ValueError(f"event type {event_type!r} is not '<aggregate>.<event>'")
    return (
        f"events.{validate_slug(tenant, 'tenant')}.{validate_slug(project, 'project')}.{event_type}"
    )


def kpi_subject(tenant: str, project: str, kpi: str) -> str:
    """Subject of a KPI update: `kpi.<tenant>.<project>.<kpi>`."""
    return f"kpi.{validate_slug(tenant, 'tenant')}.{validate_slug(project, 'project')}.{validate_slug(kpi, 'kpi')}"


def tenant_filter(tenant: str, project: str = "*", aggregate: str = "*") -> str:
    """A subscription filter for one tenant (and optionally one project and aggregate)."""
    parts = [validate_slug(tenant, "tenant")]
    parts.append(project if project == "*" else validate_slug(project, "project"))
    parts.append(aggregate)
    return "events." + ".".join(parts) + ".>"
