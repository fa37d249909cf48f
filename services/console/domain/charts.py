"""A KPI's trend as a small line chart: where each bucket's figure and the target sit.

Pure geometry in SVG user units; the page draws it as inline SVG (title, description,
axis labels, the target as a dashed line), so the chart needs no script and no library.
A bucket without a figure (no samples) breaks the line instead of drawing a zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 360.0
HEIGHT = 170.0
LEFT = 56.0
"""Room for the value axis' labels."""
RIGHT = WIDTH - 10.0
TOP = 12.0
BOTTOM = HEIGHT - 30.0
"""Room under the plot for the first and last bucket's labels."""


@dataclass(frozen=True)
class ChartPoint:
    """One bucket's figure: its place and its value as the page writes it."""

    bucket: str
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Tick:
    """A labelled line of the value axis."""

    y: float
    text: str


@dataclass(frozen=True)
class TrendChart:
    """A trend ready to draw; `empty` when no bucket of the period has a figure yet."""

    empty: bool
    points: tuple[ChartPoint, ...] = ()
    lines: tuple[str, ...] = ()
    """Each run of consecutive buckets with a figure, as an SVG `points` attribute."""
    ticks: tuple[Tick, ...] = ()
    first_bucket: str = ""
    last_bucket: str = ""
    target_y: float | None = None
    target_text: str = ""
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = RIGHT
    top: float = TOP
    bottom: float = BOTTOM


def _scale(values: list[float], ratio: bool) -> tuple[float, float]:
    """The value axis' low and high: from zero for counts and durations, close around
    the figures for ratios (98 % against 99 % must be seen), never outside 0..1 for them."""
    high = max(values)
    if not ratio:
        return 0.0, high if high > 0 else 1.0
    low = max(0.0, min(values) - 0.02)
    high = min(1.0, high + 0.02)
    if high - low < 0.1:
        low = max(0.0, high - 0.1)
        high = low + 0.1
    return low, high


def trend_chart(
    buckets: Sequence[tuple[str, float | None]],
    target: float | None,
    unit: str,
    text: Callable[[float], str],
) -> TrendChart:
    """The chart of `buckets` (label, figure or None), with `target` when the KPI has one;
    `text` writes a value as the page does (98.5%, 12 min, 3)."""
    known = [value for _, value in buckets if value is not None]
    if not known:
        return TrendChart(empty=True)
    low, high = _scale(known + ([target] if target is not None else []), unit == "ratio")

    def y_of(value: float) -> float:
        return round(BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP), 2)

    step = (RIGHT - LEFT) / (len(buckets) - 1) if len(buckets) > 1 else 0.0
    points: list[ChartPoint] = []
    lines: list[str] = []
    run: list[str] = []
    for index, (bucket, value) in enumerate(buckets):
        x = round(LEFT + index * step if step else (LEFT + RIGHT) / 2, 2)
        if value is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        point = ChartPoint(bucket, x, y_of(value), text(value))
        points.append(point)
        run.append(f"{point.x},{point.y}")
    if run:
        lines.append(" ".join(run))
    middle = (low + high) / 2
    return TrendChart(
        empty=False,
        points=tuple(points),
        lines=tuple(lines),
        ticks=tuple(Tick(y_of(v), text(v)) for v in (high, middle, low)),
        first_bucket=buckets[0][0],
        last_bucket=buckets[-1][0],
        target_y=y_of(target) if target is not None else None,
        target_text=text(target) if target is not None else "",
    )
