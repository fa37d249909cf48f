"""The pure parts of bench/ingest_instances.py: connections shared among load generators,
simultaneous wrk runs summed, the order of instance counts and the summary (no timing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.ingest import Turn, turn_order
from bench.ingest_instances import InstancesTurn, summarise, table
from bench.proc_cpu import grown, own_cpu_seconds
from bench.storage import StreamSize, TableSize
from bench.wrk import WrkRun, combined, split_connections


def test_connections_are_shared_as_evenly_as_whole_numbers_allow() -> None:
    assert split_connections(32, 1) == [32]
    assert split_connections(32, 2) == [16, 16]
    assert split_connections(32, 3) == [11, 11, 10]
    assert sum(split_connections(32, 5)) == 32


@pytest.mark.parametrize(("total", "parts"), [(32, 0), (2, 3)])
def test_connections_that_cannot_be_shared_are_refused(total: int, parts: int) -> None:
    with pytest.raises(ValueError, match="cannot share"):
        split_connections(total, parts)


def test_simultaneous_runs_are_summed_with_the_worst_percentiles() -> None:
    first = WrkRun(600, 10.01, 59.9, 1, 0, {50: 500.0, 99: 700.0})
    second = WrkRun(400, 10.02, 39.9, 0, 2, {50: 650.0, 90: 800.0, 99: 690.0})
    assert combined([first, second]) == WrkRun(1000, 10.02, 99.8, 1, 2, {50: 650.0, 99: 700.0})
    assert combined([first]) == first


def test_no_runs_cannot_be_combined() -> None:
    with pytest.raises(ValueError, match="no wrk runs"):
        combined([])


def test_every_instance_count_goes_first_in_turn() -> None:
    assert [turn_order(r, (1, 2)) for r in range(3)] == [[1, 2], [2, 1], [1, 2]]


def _turn(instances: int, rate: float, cpu_seconds: float, non_2xx: int = 0) -> InstancesTurn:
    requests = round(rate * 10)
    turn = Turn("postgresql", "dispatch", 1, requests, rate, non_2xx, 0, {}, cpu_seconds, 10.0)
    return InstancesTurn(instances, [rate], turn, database_cpu_seconds=cpu_seconds / 5)


def test_summary_gives_medians_and_throughput_over_one_process() -> None:
    turns = [_turn(1, 100, 5.0), _turn(1, 120, 6.0), _turn(2, 180, 10.8), _turn(2, 200, 12.0)]
    one, two = summarise(turns)
    assert (one.instances, one.requests_per_s, one.cpu_ms_per_request, one.scaling) == (
        1, 110.0, 5.0, 1.0,
    )  # fmt: skip
    assert (two.instances, two.requests_per_s, two.cpu_ms_per_request, two.scaling) == (
        2, 190.0, 6.0, 1.727,
    )  # fmt: skip
    assert two.database_cpu_ms_per_request == 1.2
    assert "| 2 | 190.0 | 6.00 | 1.20 | 1.73 | 2 |" in table([one, two])


def test_a_failing_count_has_no_figures_and_no_scaling() -> None:
    turns = [_turn(1, 100, 5.0, non_2xx=3), _turn(2, 180, 10.8)]
    one, two = summarise(turns)
    assert one.failing and one.scaling is None
    assert two.scaling is None  # nothing sound to compare with
    assert "| 1 | FAILING | FAILING | FAILING | — | 1 |" in table([one, two])


def test_cpu_of_processes_that_are_not_ours(tmp_path: Path) -> None:
    for pid, ppid, utime, cutime in ((20, 1, 300, 50), (21, 20, 40, 0), (22, 1, 10, 0)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(
            f"{pid} (postgres) S {ppid} 0 0 0 -1 0 0 0 0 0 {utime} 0 {cutime} 0 20 0 1 0 1 2 3\n"
        )
    tick = os.sysconf("SC_CLK_TCK")
    # Each by itself (a backend's reaped children are not its own work), pid 99 not running.
    assert own_cpu_seconds([20, 21, 99], tmp_path) == {20: 300 / tick, 21: 40 / tick}


def test_cpu_grown_between_readings() -> None:
    before = {1: 2.0, 2: 5.0, 3: 1.0}
    after = {1: 2.5, 2: 7.0, 4: 0.25}  # 3 ended in between (lost), 4 started (counted whole)
    assert grown(before, after) == pytest.approx(0.5 + 2.0 + 0.25)


def test_a_tables_bytes_are_shared_among_its_rows() -> None:
    assert TableSize("events", 4, 3000, 800, 4000).bytes_per_row == 1000.0
    assert TableSize("outbox", 0, 8192, 8192, 16384).bytes_per_row == 0.0


def test_a_streams_bytes_a_message_with_and_without_its_framing() -> None:
    stream = StreamSize(messages=3, bytes=2571, payload_bytes=2142)
    assert (stream.bytes_per_message, stream.payload_bytes_per_message) == (857.0, 714.0)
    assert StreamSize(0, 0, 0).bytes_per_message == 0.0
