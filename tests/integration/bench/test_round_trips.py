"""bench/round_trips.py's padding really adds its statements to each group commit's
transaction, and its summary compares each padding with none (no timing asserted)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bench.ingest import Groups, Turn
from bench.padded_dispatch import install
from bench.report_parts import PROJECT, register
from bench.round_trips import PaddedTurn, Padding, _counts, padding_in, summarise, table
from bench.support import in_process
from services.dispatch.adapters import group_commit


def _padding() -> float:
    return REGISTRY.get_sample_value("bench_padding_statements_total") or 0.0


async def test_a_padded_group_commit_runs_its_statements_and_still_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Restored after the test: the padding replaces the module's function.
    monkeypatch.setattr(group_commit, "_write_together", group_commit._write_together)
    install(3)
    parts = await in_process(f"sqlite+aiosqlite:///{tmp_path / 'padded.db'}")
    try:
        before = _padding()
        await register(parts.store, parts.projects, parts.clock)  # one append: one group
        registered = await parts.store.load(f"project:bench:{PROJECT}")
    finally:
        await parts.store.close()
        await parts.engine.dispose()

    assert _padding() - before == 3
    assert [e.type_name for e in registered] == ["project.registered"]


def _turn(extra: int, rate: float, *, padding: float, non_2xx: int = 0) -> PaddedTurn:
    groups = Groups(count=100, appends=1600, seconds=4.0)
    turn = Turn("postgresql", "dispatch", 1, 4000, rate, non_2xx, 0, {50: 80.0}, 8.0, 12.0, groups)
    # The padding is read over the warm-up too: more groups than the load's.
    return PaddedTurn(extra, turn, Padding(padding, 125))


def test_the_summary_compares_each_padding_with_none_and_shows_what_was_counted() -> None:
    turns = [
        _turn(0, 400.0, padding=0),
        _turn(8, 360.0, padding=1000),
        _turn(0, 380.0, padding=0),
        _turn(8, 340.0, padding=1000),
    ]

    unpadded, padded = summarise(turns)

    assert (unpadded.extra, unpadded.requests_per_s, unpadded.relative) == (0, 390.0, 1.0)
    assert (padded.extra, padded.requests_per_s, padded.relative) == (8, 350.0, 0.897)
    assert padded.padding_per_group == 8.0 and padded.group_size == 16.0
    assert padded.group_ms == 40.0 and padded.cpu_ms_per_request == 2.0
    assert "| 8 | 350.0 | 0.90 | 2.00 | 16.0 | 40.0 | 8.00 | 2 |" in table([unpadded, padded])


def test_a_failing_unpadded_turn_leaves_nothing_to_compare_with() -> None:
    unpadded, padded = summarise([_turn(0, 400.0, padding=0, non_2xx=3), _turn(4, 390, padding=0)])

    assert unpadded.failing and unpadded.relative is None
    assert padded.relative is None
    assert "| 0 | FAILING | — |" in table([unpadded, padded])


def test_the_padding_and_its_groups_are_read_from_dispatch_metrics() -> None:
    metrics = (
        "# HELP bench_padding_statements_total Statements added\n"
        "# TYPE bench_padding_statements_total counter\n"
        "bench_padding_statements_total 42.0\n"
        "# HELP dispatch_group_commit_size Appends\n"
        "# TYPE dispatch_group_commit_size histogram\n"
        'dispatch_group_commit_size_bucket{le="+Inf"} 7.0\n'
        "dispatch_group_commit_size_count 7.0\n"
        "dispatch_group_commit_size_sum 90.0\n"
        "# HELP dispatch_group_commit_seconds Wall\n"
        "# TYPE dispatch_group_commit_seconds histogram\n"
        'dispatch_group_commit_seconds_bucket{le="+Inf"} 7.0\n'
        "dispatch_group_commit_seconds_count 7.0\n"
        "dispatch_group_commit_seconds_sum 0.3\n"
    )
    found = padding_in(metrics)
    assert found == Padding(42.0, 7.0)
    assert found.since(Padding(2.0, 2.0)) == Padding(40.0, 5.0)
    unpadded = "# HELP other_total x\n# TYPE other_total counter\nother_total 1.0\n"
    assert padding_in(unpadded) == Padding(0.0, 0.0)


def test_statement_counts_are_parsed_and_bad_ones_refused() -> None:
    assert _counts("0, 4,8,4") == (0, 4, 8)
    for bad in ("", "a", "-1", "65"):
        with pytest.raises(argparse.ArgumentTypeError):
            _counts(bad)
