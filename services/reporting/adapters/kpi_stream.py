"""KPI streams: every change of a project's KPI goes to `kpi.<tenant>.<project>.<kpi>`.

The projector marks the projects a committed batch touched; this publisher recomputes
their figures for the live period (month to date in the project's time zone) and
publishes each figure that changed since it last published it. Bursts coalesce: while a
round runs, further touches only mark projects for the next round. Stream `KPI` keeps the
last message per subject, so a dashboard that subscribes gets every current figure at once.
Publishing follows the commit (at least once); a failed round is retried on the next touch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from nats.js import JetStreamContext

from services.reporting.adapters.store import ReadModelStore
from services.reporting.domain.kpis import KPIS, KpiValue
from services.reporting.domain.periods import Period, month_to_date
from services.reporting.service_layer.queries import KpiQuery, figures
from shared.clock import Clock
from shared.logging import get_logger
from shared.subjects import kpi_subject

log = get_logger(__name__)


def kpi_message(
    tenant: str, project: str, period: Period, value: KpiValue, at: datetime
) -> dict[str, Any]:
    """The body of a KPI update (also what the SSE endpoint forwards)."""
    kpi = KPIS[value.kpi]
    return {
        "tenant": tenant,
        "project": project,
        "kpi": value.kpi,
        "title_en": kpi.title_en,
        "title_zh": kpi.title_zh,
        "unit": kpi.unit.value,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        **value_json(value),
        "computed_at": at.isoformat(),
    }


def value_json(value: KpiValue) -> dict[str, Any]:
    """A figure as JSON."""
    return {
        "value": value.value,
        "numerator": value.numerator,
        "denominator": value.denominator,
        "target": value.target,
        "meets_target": value.meets_target,
        "p50": value.p50,
        "p90": value.p90,
        "p99": value.p99,
        "breakdown": dict(value.breakdown),
    }


class KpiPublisher:
    """Recomputes touched projects' live figures and publishes the ones that changed."""

    def __init__(self, js: JetStreamContext, store: ReadModelStore, clock: Clock) -> None:
        self._js = js
        self._store = store
        self._clock = clock
        self._dirty: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        self._last: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        self._publishing = False
        self.published = 0

    @property
    def idle(self) -> bool:
        """Whether every touch so far has been published (nothing marked, no round running)."""
        return not self._dirty and not self._publishing

    async def touched(self, projects: set[tuple[str, str]]) -> None:
        """Mark projects whose figures may have changed (called after a commit)."""
        self._dirty |= projects
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish rounds until `stop` is set."""
        while not stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            batch, self._dirty = self._dirty, set()
            self._publishing = True
            try:
                await self.publish(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("kpi.publish_failed", error=repr(exc))
                self._dirty |= batch
                await asyncio.sleep(0.5)
                self._wake.set()
            finally:
                self._publishing = False

    async def publish(self, projects: set[tuple[str, str]]) -> None:
        """Recompute and publish the changed figures of `projects`."""
        now = self._clock.now()
        for tenant, project in sorted(projects):
            zone = await self._store.time_zone(tenant, project)
            period = month_to_date(now, zone)
            query = KpiQuery(tenant, frozenset({project}), period, now)
            result = await figures(self._store, query, list(KPIS))
            for value in result.values:
                key = (tenant, project, value.kpi)
                figure = value_json(value)
                if self._last.get(key) == {**figure, "period": period}:
                    continue
                body = kpi_message(tenant, project, period, value, now)
                await self._js.publish(kpi_subject(tenant, project, value.kpi), orjson.dumps(body))
                self._last[key] = {**figure, "period": period}
                self.published += 1
