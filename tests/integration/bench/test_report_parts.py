"""bench/report_parts.py runs each part of a report for real: every decided report stored,
its four events relayed to JetStream, and each part's CPU read (its value is not asserted:
no timing in tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.report_parts import FIGURES, column_of, medians, one_round, shapes, table

REPORTS = 60


async def test_one_round_stores_and_relays_every_decided_report(tmp_path: Path) -> None:
    found = await one_round(f"sqlite+aiosqlite:///{tmp_path / 'parts.db'}", REPORTS, tmp_path)

    # A report is `workorder.reported` and its three SLA clocks started.
    assert found["reports"] == REPORTS
    assert found["events"] == 4 * REPORTS
    parts = [found[part] for part in ("deciding_ms", "storing_ms", "relaying_ms")]
    assert all(ms > 0 for ms in parts), parts
    assert abs(found["sum_ms"] - sum(parts)) <= 0.002  # each figure rounded apart
    assert found["storing_database_server_ms"] is None  # SQLite has no server


async def test_the_one_event_shape_stores_and_relays_each_report_as_its_report_event(
    tmp_path: Path,
) -> None:
    found = await one_round(
        f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", REPORTS, tmp_path, "one-event"
    )

    # The three SLA clocks' events are cut: one event a report reaches the stream.
    assert found["reports"] == REPORTS
    assert found["events"] == REPORTS
    assert all(found[part] > 0 for part in ("deciding_ms", "storing_ms", "relaying_ms"))


def test_shapes_are_named_once_each_and_an_unknown_one_is_refused() -> None:
    assert shapes("today, one-event,today") == ("today", "one-event")
    with pytest.raises(argparse.ArgumentTypeError, match="some of today, one-event"):
        shapes("today,fewer")
    with pytest.raises(argparse.ArgumentTypeError):
        shapes(" , ")
    # Today's shape keeps the backend's own column, as results files before shapes had it.
    assert column_of("sqlite", "today") == "sqlite"
    assert column_of("sqlite", "one-event") == "sqlite, one-event"


def test_medians_and_table_give_each_backend_its_column() -> None:
    sqlite = {key: None for key, _ in FIGURES} | {"deciding_ms": 0.6, "sum_ms": 1.4}
    rounds = [sqlite | {"deciding_ms": v} for v in (0.5, 0.7, 0.6)]
    postgres = [
        {key: 1.0 for key, _ in FIGURES},
        {key: 3.0 for key, _ in FIGURES},
    ]
    summary = {"sqlite": medians(rounds), "postgresql": medians(postgres)}

    assert summary["sqlite"]["deciding_ms"] == 0.6
    assert summary["sqlite"]["storing_database_server_ms"] is None
    assert summary["postgresql"]["storing_ms"] == 2.0
    shown = table(summary)
    assert "| CPU ms a report (median) | sqlite | postgresql |" in shown
    assert "| deciding (memory store, no I/O) | 0.600 | 2.000 |" in shown
    assert "| PostgreSQL server, storing | — | 2.000 |" in shown
