"""bench/report_parts.py runs each part of a report for real: every decided report stored,
its four events relayed to JetStream, and each part's CPU read (its value is not asserted:
no timing in tests)."""

from __future__ import annotations

from pathlib import Path

from bench.report_parts import FIGURES, medians, one_round, table

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
