"""The KPI trend chart: points, value axis, target line, gaps, and the empty first day."""

from __future__ import annotations

import re
from typing import Any

from services.console.domain.charts import BOTTOM, LEFT, RIGHT, TOP, trend_chart
from services.console.entrypoints.web import TEMPLATES


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def render(chart: Any) -> str:
    figure = {"kpi": "satisfaction", "title_en": "Satisfaction"}
    return TEMPLATES.get_template("chart.html").render(
        chart=chart,
        f=figure,
        title=lambda f: f["title_en"],
        _=lambda message, **params: message % params if params else message,
    )


def test_points_span_the_plot_and_higher_values_sit_higher() -> None:
    chart = trend_chart(
        [("2026-12-01", 0.9), ("2026-12-02", 1.0), ("2026-12-03", 0.95)], 0.98, "ratio", percent
    )
    assert not chart.empty
    xs = [p.x for p in chart.points]
    assert xs[0] == LEFT and xs[-1] == RIGHT and xs[0] < xs[1] < xs[2]
    ys = {p.bucket: p.y for p in chart.points}
    assert TOP <= ys["2026-12-02"] < ys["2026-12-03"] < ys["2026-12-01"] <= BOTTOM
    assert [p.text for p in chart.points] == ["90.0%", "100.0%", "95.0%"]
    assert chart.lines == (" ".join(f"{p.x},{p.y}" for p in chart.points),)


def test_the_target_line_sits_between_the_values_around_it() -> None:
    chart = trend_chart([("a", 0.9), ("b", 1.0)], 0.98, "ratio", percent)
    assert chart.target_y is not None and chart.target_text == "98.0%"
    low, high = (p.y for p in chart.points)
    assert high < chart.target_y < low


def test_the_value_axis_is_labelled_top_middle_bottom() -> None:
    chart = trend_chart([("a", 2.0), ("b", 8.0)], None, "count", str)
    assert [t.text for t in chart.ticks] == ["8.0", "4.0", "0.0"]
    assert [t.y for t in chart.ticks] == [TOP, (TOP + BOTTOM) / 2, BOTTOM]
    assert chart.target_y is None


def test_a_bucket_without_a_figure_breaks_the_line() -> None:
    chart = trend_chart([("a", 1.0), ("b", None), ("c", 2.0), ("d", 3.0)], None, "count", str)
    assert [p.bucket for p in chart.points] == ["a", "c", "d"]
    assert len(chart.lines) == 2
    assert (chart.first_bucket, chart.last_bucket) == ("a", "d")


def test_a_single_bucket_is_drawn_in_the_middle() -> None:
    chart = trend_chart([("2026-12-02", 0.5)], 0.3, "ratio", percent)
    assert chart.points[0].x == (LEFT + RIGHT) / 2


def test_no_figure_yet_is_empty_not_an_empty_box() -> None:
    assert trend_chart([], 0.99, "ratio", percent).empty
    first_day = trend_chart([("2026-12-01", None), ("2026-12-02", None)], 0.99, "ratio", percent)
    assert first_day.empty
    html = render(first_day)
    assert "<svg" not in html
    assert 'data-testid="chart-empty"' in html and "No data yet for this period" in html


def test_the_svg_is_titled_described_and_draws_axis_labels_and_target() -> None:
    chart = trend_chart([("2026-12-01", 0.9), ("2026-12-02", 1.0)], 0.98, "ratio", percent)
    html = render(chart)
    assert 'role="img"' in html
    assert '<title id="chart-satisfaction-title">Trend of Satisfaction</title>' in html
    desc = re.search(r"<desc [^>]*>(.*?)</desc>", html, re.S)
    assert desc is not None
    assert "From 2026-12-01 to 2026-12-02." in desc.group(1)
    assert "Target: 98.0%." in desc.group(1) and "2026-12-01: 90.0%" in desc.group(1)
    assert 'data-testid="target-line"' in html
    assert html.count("<circle") == 2 and html.count("<polyline") == 1
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', html)
    assert ticks[-2:] == ["2026-12-01", "2026-12-02"] and "100.0%" in ticks
