"""KPI figures as the quality page writes them, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from services.console.domain.charts import TrendChart, trend_chart
from services.console.domain.periods import PeriodProblem
from services.console.entrypoints.labels import N_, PERIOD_PROBLEMS

Gettext = Callable[..., str]


def figure_text(unit: str, value: float | None, gettext: Gettext) -> str:
    """A ratio as a percentage, a duration in seconds, minutes or hours, a count whole."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        seconds = round(value)
        if seconds < 60:
            return gettext(N_("%(seconds)s s"), seconds=seconds)
        minutes = round(value / 60)
        if minutes < 60:
            return gettext(N_("%(minutes)s min"), minutes=minutes)
        hours, rest = divmod(minutes, 60)
        return gettext(N_("%(hours)s h %(minutes)s min"), hours=hours, minutes=rest)
    return str(round(value))


def target_text(figure: Mapping[str, Any], gettext: Gettext) -> str:
    """The target as a sentence part (`at least 99.0%`), empty for a KPI without one."""
    target = figure.get("target")
    if target is None:
        return ""
    written = figure_text(str(figure.get("unit")), float(target), gettext)
    if figure.get("direction") == "at_most":
        return gettext(N_("at most %(target)s"), target=written)
    return gettext(N_("at least %(target)s"), target=written)


def chart_of(
    figure: Mapping[str, Any], series: Mapping[str, Any], buckets: list[str], gettext: Gettext
) -> TrendChart:
    """The trend of one KPI over every bucket of the period (the median for durations);
    a bucket reporting has no samples for stays empty."""
    unit = str(figure.get("unit"))
    target = figure.get("target")
    values = {str(p.get("bucket")): p.get("value") for p in series.get("points") or []}
    return trend_chart(
        [(bucket, values.get(bucket)) for bucket in buckets],
        float(target) if target is not None else None,
        unit,
        lambda value: figure_text(unit, value, gettext),
    )


def period_problem(problem: PeriodProblem) -> str:
    """The message id telling the reader why their period was not shown."""
    return PERIOD_PROBLEMS[problem.value]
