"""KPI samples and their roll-up: what a changed order adds to and takes from the figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.insert_many import insert_many
from services.reporting.adapters.order_rows import stored_facts
from services.reporting.domain.facts import OrderFacts
from services.reporting.domain.kpis import Sample
from services.reporting.domain.rollup import (
    MeasureKey,
    RollupKey,
    band_or_none,
    changed_kpis,
    order_samples,
    rollup_delta,
)


def sample_orders(conn: Connection, generation: int, after: str, chunk: int) -> list[OrderFacts]:
    """Draw the samples and roll-up of up to `chunk` orders of `generation` (those after
    order id `after`, which have no samples yet); returns the orders drawn."""
    rows = conn.execute(
        select(t.orders.c.facts)
        .where(t.orders.c.generation == generation, t.orders.c.order_id > after)
        .order_by(t.orders.c.order_id)
        .limit(chunk)
    ).scalars()
    orders = [stored_facts(raw) for raw in rows]
    write_samples(conn, generation, [(None, facts) for facts in orders])
    return orders


DIMENSION_COLUMNS = ("building", "kind", "category", "technician", "team")


def write_samples(
    conn: Connection, gen: int, changes: Sequence[tuple[OrderFacts | None, OrderFacts]]
) -> None:
    """Replace the samples of changed orders (facts before, after) and move the roll-up with them.

    Only the KPIs whose samples differ are touched, so an event that changes no figure
    (most of them, for most KPIs) writes nothing here.
    """
    delta: Counter[RollupKey] = Counter()
    measures: Counter[MeasureKey] = Counter()
    stale: list[dict[str, Any]] = []
    fresh: list[tuple[Any, ...]] = []
    for old, new in changes:
        before, after = order_samples(old), order_samples(new)
        changed = changed_kpis(before, after)
        if not changed:
            continue
        counted, measured = rollup_delta(before, after, changed)
        delta.update(counted)
        measures.update(measured)
        for name in sorted(changed):
            if before.get(name):
                stale.append({"k_order": new.order_id, "k_kpi": name})
            fresh.extend(
                _sample_row(gen, name, i, sample) for i, sample in enumerate(after.get(name, []))
            )
    if stale:
        conn.execute(
            delete(t.kpi_samples).where(
                t.kpi_samples.c.generation == gen,
                t.kpi_samples.c.order_id == bindparam("k_order"),
                t.kpi_samples.c.kpi == bindparam("k_kpi"),
            ),
            stale,
        )
    if fresh:
        insert_many(conn, t.kpi_samples, _SAMPLE_COLUMNS, fresh)
    rows = [(gen, *key, n) for key, n in sorted(delta.items()) if n != 0]
    if rows:
        insert_many(conn, t.kpi_rollup, _ROLLUP_COLUMNS, rows, add_on_conflict="samples")
    measure_rows = [(gen, *key, n) for key, n in sorted(measures.items()) if n != 0]
    if measure_rows:
        insert_many(conn, t.kpi_measures, _MEASURE_COLUMNS, measure_rows, add_on_conflict="samples")


_SAMPLE_COLUMNS = (
    "generation", "order_id", "kpi", "position", "tenant", "project", "at", "hit", "measure",
    "label", "band", *DIMENSION_COLUMNS,
)  # fmt: skip
_ROLLUP_COLUMNS = ("generation", *RollupKey._fields, "samples")
_MEASURE_COLUMNS = ("generation", *MeasureKey._fields, "samples")


def _sample_row(gen: int, kpi: str, position: int, sample: Sample) -> tuple[Any, ...]:
    """A sample as a row of `_SAMPLE_COLUMNS`."""
    dims = sample.dims
    return (
        gen, sample.order_id, kpi, position, sample.tenant, sample.project, sample.at,
        sample.hit, sample.measure, sample.label, band_or_none(sample),
        *(dims.get(d) for d in DIMENSION_COLUMNS),
    )  # fmt: skip


def sample_of(row: Any) -> Sample:
    """A stored sample row as the domain's `Sample`."""
    return Sample(
        order_id=row.order_id,
        tenant=row.tenant,
        project=row.project,
        at=row.at,
        hit=row.hit,
        measure=row.measure,
        label=row.label,
        dims={d: getattr(row, d) for d in DIMENSION_COLUMNS},
    )
