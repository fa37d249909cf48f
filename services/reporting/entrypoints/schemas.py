"""The bodies reporting answers with, as pydantic models for the OpenAPI document.

Handlers write their bodies with orjson; these models only describe them
(`shared.http.responses`), as `routes/kpis.py` and `routes/operations.py` shape them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from services.reporting.domain.kpis import Direction, Unit
from services.reporting.domain.periods import Granularity
from services.reporting.service_layer.ports import DeadLetterRecord
from shared.http.responses import Body, body_of


class KpiDefinition(Body):
    """What a KPI is: its name, titles, unit and which side of the target is good."""

    kpi: str
    title_en: str
    title_zh: str
    unit: Unit
    direction: Direction | None = Field(description="null: no target to meet.")
    snapshot: bool = Field(description="Counted as of now, not over the period (backlog).")


class FigureValues(Body):
    """A KPI's figure over one scope and period (or one bucket, or one group)."""

    value: float | None = Field(description="null: nothing to count in the scope.")
    numerator: int
    denominator: int
    target: float | None
    meets_target: bool | None
    p50: float | None
    p90: float | None
    p99: float | None
    breakdown: dict[str, int] = Field(description="Counts by label (clock, age band, ...).")


class Figure(KpiDefinition, FigureValues):
    """A KPI and its figure."""


class GroupFigure(FigureValues):
    """A KPI's figure for one value of the dimension grouped by."""

    key: str | None = Field(description="The group's value; null for orders without one.")


class Period(Body):
    """Local dates `[from, to)`."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str


class OutcomeCounts(Body):
    """Delivery outcomes and the delivery rate sent / (sent + dead + unreached)."""

    delivery_rate: float | None
    sent: int
    failed: int
    deferred: int
    dead: int
    unreached: int


class NotificationFigures(OutcomeCounts):
    """notify's delivery outcomes in all, per channel and per template."""

    by_channel: dict[str, OutcomeCounts]
    by_template: dict[str, OutcomeCounts]


class KpiBoard(Body):
    """Every KPI over a scope and period."""

    period: Period | None = Field(description="null: the scope is empty (a project not yours).")
    projects: list[str]
    households: int
    kpis: list[Figure]
    notifications: NotificationFigures | None = Field(
        description="null under a filter other than `project`."
    )
    groups: dict[str, list[GroupFigure]] | None = Field(
        default=None, description="Only with `group_by`: per KPI, its figure per group."
    )


class AtRiskOrder(Body):
    """An open order whose clock was warned or breached."""

    order_id: str
    number: str | None = Field(description="The number people read; null before numbers.")
    project: str
    kind: str
    building: str | None
    technician: str | None
    clock: str
    due_at: datetime
    breached: bool


class KpiAtRisk(Body):
    """Open orders at risk, soonest due first."""

    orders: list[AtRiskOrder]


class SeriesPoint(FigureValues):
    """The figure of one bucket."""

    bucket: str = Field(description="The bucket's label in local time.")


class KpiSeries(KpiDefinition):
    """A KPI per bucket of the period."""

    period: Period | None
    granularity: Granularity
    points: list[SeriesPoint]


class OrderSample(Body):
    """One order's contribution to a figure."""

    order_id: str
    number: str | None = Field(description="The number people read; null before numbers.")
    project: str
    at: datetime
    hit: bool | None = Field(description="For ratios: whether it counts as a hit.")
    measure: float | None = Field(description="For durations: the seconds measured.")
    label: str | None
    building: str | None
    kind: str | None
    category: str | None
    technician: str | None
    team: str | None


class KpiOrders(KpiDefinition):
    """The orders behind a figure."""

    period: Period | None
    total: int = Field(description="Samples in all; `orders` holds the first `limit`.")
    orders: list[OrderSample]


class ProjectorState(Body):
    """The projector's state for the caller's tenant."""

    tenant: str
    generation: int
    work_orders: int
    last_event_at: datetime | None
    dead_letters: int


class StoredDeadLetter(Body):
    """Where and when a dead letter was recorded."""

    id: int
    consumer: str
    recorded_at: datetime


# The record as the projector stores it, but its key and its raw body.
ReportingDeadLetter = body_of(
    "ReportingDeadLetter",
    DeadLetterRecord,
    "An event the projector gave up on (never its raw body).",
    base=StoredDeadLetter,
    leave_out=("key", "data"),
)


class ReportingDeadLetters(Body):
    """Dead letters of the caller's tenant, newest first."""

    dead_letters: list[ReportingDeadLetter]  # type: ignore[valid-type]
