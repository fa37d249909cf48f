"""The pure parts of bench/ingest.py and bench/profile_report.py: wrk's summary, the CPU
read from /proc, statement kinds, profile frames and the results table (no timing)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench.ingest import (
    PEERS,
    Groups,
    Turn,
    groups_in,
    ratios,
    results_name,
    summarise,
    summed,
    table,
    turn_order,
)
from bench.proc_cpu import StatTimes, parent_of, parse_stat, tree_cpu_seconds, tree_ticks
from bench.speedscope import Part, by_package, frame_times, package_of, part_times
from bench.statements import per_report, statement_kind
from bench.wrk import INSTALL_HINT, parse_wrk, post_script, require_wrk

PAD = " "
"""wrk pads a figure in seconds with a space, where `ms` or `us` would be."""

WRK_WITH_ERRORS = f"""\
Running 10s test @ http://127.0.0.1:8000
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    89.12ms   20.01ms   1.20s     80.00%
    Req/Sec   360.12     40.00   450.00     70.00%
  Latency Distribution
     50%   85.00ms
     75%   95.00ms
     90%  110.00ms
     99%    1.20s{PAD}
  3583 requests in 10.01s, 1.20MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:    357.95
Transfer/sec:    122.50KB
"""

WRK_CLEAN = """\
Running 3s test @ http://127.0.0.1:8001
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    36.40ms    5.12ms  80.20ms   90.00%
    Req/Sec     0.88k    60.00     1.00k    75.00%
  2652 requests in 3.00s, 450.00KB read
Requests/sec:    883.95
Transfer/sec:    150.00KB
"""


def test_wrk_summary_with_errors() -> None:
    run = parse_wrk(WRK_WITH_ERRORS)
    assert (run.requests, run.seconds, run.requests_per_s) == (3583, 10.01, 357.95)
    assert (run.non_2xx, run.socket_errors, run.failed, run.succeeded) == (5, 3, 8, 3578)
    assert run.latency_ms == {50: 85.0, 75: 95.0, 90: 110.0, 99: 1200.0}


def test_wrk_summary_without_errors_or_latency() -> None:
    run = parse_wrk(WRK_CLEAN)
    assert (run.requests, run.requests_per_s, run.failed, run.latency_ms) == (2652, 883.95, 0, {})


def test_not_a_wrk_summary() -> None:
    with pytest.raises(ValueError, match="not a wrk summary"):
        parse_wrk("wrk: command not found\n")


def test_post_script_keys_each_request_and_quotes_any_body() -> None:
    body = {"description": "a ]] and ]=] in a resident's words"}
    keyed = post_script("/v1/work-orders", body, {"Content-Type": "application/json"}, "p1")
    assert "[==[" in keyed  # a level neither ]] nor ]=] closes
    assert "headers['Idempotency-Key'] = [[p1]] .. '-' .. n" in keyed
    assert "[ [[Content-Type]] ] = [[application/json]]" in keyed  # not '[[[' (a string)
    assert "Idempotency-Key" not in post_script("/x", body, {}, None)


def test_stat_line_with_a_name_holding_spaces_and_parentheses() -> None:
    line = "4242 (python (bench) x) S 17 4242 4242 0 -1 4194560 9 0 0 0 150 30 7 3 20 0 3 0 1 2 3"
    assert parse_stat(line) == StatTimes(4242, 17, 150, 30, 7, 3)


def test_tree_counts_the_process_its_descendants_and_nothing_else() -> None:
    stats = [
        StatTimes(10, 1, 100, 20, 5, 1),  # the server, with reaped children
        StatTimes(11, 10, 30, 10, 0, 0),  # a worker
        StatTimes(12, 11, 4, 1, 0, 0),  # the worker's child
        StatTimes(13, 1, 999, 999, 0, 0),  # the load generator: not the server's
    ]
    assert tree_ticks(10, stats) == 126 + 40 + 5
    with pytest.raises(ProcessLookupError):
        tree_ticks(99, stats)


def test_cpu_seconds_from_a_proc_directory(tmp_path: Path) -> None:
    for pid, ppid, utime in ((10, 1, 200), (11, 10, 50), (13, 1, 900)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(
            f"{pid} (p) S {ppid} 0 0 0 -1 0 0 0 0 0 {utime} 0 0 0 20 0 1 0 1 2 3\n"
        )
    (tmp_path / "self").mkdir()  # not a process: skipped
    assert tree_cpu_seconds(10, tmp_path) == pytest.approx(250 / os.sysconf("SC_CLK_TCK"))


def test_the_parent_of_a_process_and_of_one_not_on_this_machine(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text("42 (postgres: x) S 7 0 0 0 -1 0 0 0 0 0 1 2 3 4 20\n")
    assert parent_of(42, tmp_path) == 7
    with pytest.raises(ProcessLookupError):
        parent_of(43, tmp_path)


def test_cpu_seconds_of_this_process() -> None:
    before = tree_cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))
    assert tree_cpu_seconds(os.getpid()) >= before >= 0


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO events (stream_id) VALUES (?)", "INSERT events"),
        ('SELECT outbox.id FROM "outbox" WHERE status = ?', "SELECT outbox"),
        ("UPDATE sla_timers SET due = ?", "UPDATE sla_timers"),
        ("DELETE FROM idempotency_keys WHERE k = $1", "DELETE idempotency_keys"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("PRAGMA table_info(events)", "PRAGMA"),
        ("  ", "(empty)"),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind


def test_counts_per_report_are_the_growth_between_snapshots() -> None:
    before = {"statements": {"INSERT events": 10, "SELECT projects": 4}, "rows": {}}
    after = {"statements": {"INSERT events": 30, "SELECT projects": 4, "BEGIN": 40}, "rows": {}}
    assert per_report(before, after, 20) == {
        "statements": {"BEGIN": 2.0, "INSERT events": 1.0},
        "rows": {},
    }


def _profile(files: list[tuple[str, str]], *profiles: dict[str, Any]) -> dict[str, Any]:
    """A speedscope document of `(function, file)` frames (line = position + 1)."""
    frames = [{"name": name, "file": file, "line": n + 1} for n, (name, file) in enumerate(files)]
    return {"shared": {"frames": frames}, "profiles": list(profiles)}


def test_frames_by_self_and_total_time() -> None:
    document = _profile(
        [("serve", "a.py"), ("report", "b.py"), ("execute", "c.py")],
        {"unit": "seconds", "samples": [[0, 1, 2], [0, 1], [0, 1, 2], []],
         "weights": [0.01, 0.01, 0.01, 0.01]},
        {"unit": "none", "samples": [[0, 2]], "weights": [2]},
    )  # fmt: skip
    by_self, total = frame_times(document, rate=100)
    assert total == pytest.approx(0.05)
    assert [(f.frame, round(f.seconds, 3)) for f in by_self] == [
        ("execute (c.py:3)", 0.04),
        ("report (b.py:2)", 0.01),
    ]
    by_total, _ = frame_times(document, rate=100, inclusive=True)
    assert [(f.frame, round(f.share, 2)) for f in by_total] == [
        ("serve (a.py:1)", 1.0),
        ("execute (c.py:3)", 0.8),
        ("report (b.py:2)", 0.6),
    ]


def test_a_part_counts_a_sample_once_whichever_of_its_frames_the_stack_holds() -> None:
    document = _profile(
        [("serve", "/w/shared/serve.py"), ("Relay.run", "/w/shared/outbox.py"),
         ("_write", "/w/adapters/commit.py"), ("Group.write", "/w/adapters/commit.py"),
         ("_write", "/w/other/commit.py")],
        {"unit": "seconds", "samples": [[0, 3, 2], [0, 1], [2], [4], []],
         "weights": [0.01, 0.01, 0.01, 0.01, 0.01]},
    )  # fmt: skip
    parts = [
        Part("commit", ("/adapters/commit.py:Group.write", "/adapters/commit.py:_write")),
        Part("relay", ("/shared/outbox.py:Relay.run",)),
        Part("served", ("/shared/serve.py:serve",)),
    ]

    by_part, total = part_times(document, 100, parts)

    assert total == pytest.approx(0.04)
    # The first sample holds both of commit's frames and counts once; the fourth's
    # `_write` is another file's.
    assert [(p.frame, round(p.seconds, 3), round(p.share, 2)) for p in by_part] == [
        ("commit", 0.02, 0.5),
        ("relay", 0.01, 0.25),
        ("served", 0.02, 0.5),
    ]


def test_every_peer_goes_first_once_in_as_many_rounds_as_peers() -> None:
    assert [turn_order(r, PEERS)[0] for r in range(len(PEERS))] == list(PEERS)
    assert all(sorted(turn_order(r, PEERS)) == sorted(PEERS) for r in range(5))


def _turn(peer: str, rate: float, cpu: float, non_2xx: int = 0) -> Turn:
    return Turn("sqlite", peer, 1, 1000, rate, non_2xx, 0, {}, cpu, 10.0)


def test_a_peer_with_errors_is_failing_and_gets_no_ratio() -> None:
    turns = [_turn("dispatch", 300, 2.5), _turn("dispatch", 320, 2.0, non_2xx=1)]
    turns += [_turn("eventsourcing", 700, 1.0), _turn("eventsourcing", 800, 1.2)]
    summaries = summarise(turns)
    dispatch, eventsourcing = summaries
    assert dispatch.failing and not eventsourcing.failing
    assert eventsourcing.requests_per_s == 750 and eventsourcing.cpu_ms_per_request == 1.1
    assert ratios(summaries) == {"sqlite": {"requests_per_s": None, "cpu_ms_per_request": None}}
    assert "| sqlite | dispatch | FAILING | FAILING | 2 | 1 / 0 |" in table(
        summaries, ratios(summaries)
    )


def test_ratios_of_dispatch_to_the_eventsourcing_peer() -> None:
    summaries = summarise([_turn("dispatch", 300, 3.0), _turn("eventsourcing", 600, 1.0)])
    assert ratios(summaries) == {"sqlite": {"requests_per_s": 0.5, "cpu_ms_per_request": 3.0}}


@pytest.mark.parametrize(
    ("frame", "package"),
    [
        ("execute (/w/.venv/lib/python3.11/site-packages/asyncpg/connection.py:320)", "asyncpg"),
        ("f (/w/.venv/lib/python3.11/site-packages/typing_extensions.py:9)", "typing_extensions"),
        ("report (/w/services/dispatch/entrypoints/routes/work_orders.py:77)", "services.dispatch"),
        ("serve (/w/shared/http/serve.py:32)", "shared"),
        (
            "run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py:86)",
            "stdlib:asyncio",
        ),
        ("__init__ (<string>:2)", "?"),
    ],
)
def test_package_of_a_frame(frame: str, package: str) -> None:
    assert package_of(frame) == package


def test_self_time_by_package() -> None:
    document = _profile(
        [
            ("a", "/v/site-packages/sqlalchemy/sql/compiler.py"),
            ("b", "/v/site-packages/sqlalchemy/engine/base.py"),
            ("c", "/w/shared/database.py"),
        ],
        {"unit": "seconds", "samples": [[2, 0], [2, 1], [2]], "weights": [1, 2, 1]},
    )
    packages = by_package(frame_times(document, rate=100)[0])
    assert [(p.frame, p.seconds, p.share) for p in packages] == [
        ("sqlalchemy", 3, 0.75),
        ("shared", 1, 0.25),
    ]


def test_a_partial_run_keeps_its_own_results_file() -> None:
    assert results_name(PEERS, True) == "ingest-peers.json"
    assert results_name(("dispatch",), False) == "ingest-peers-dispatch-no-idempotency-key.json"


def test_without_wrk_the_benchmark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SystemExit) as stopped:
        require_wrk()
    assert stopped.value.code == INSTALL_HINT  # printed on stderr, exit status 1
    assert "apt-get install -y wrk" in INSTALL_HINT


METRICS = """\
# HELP dispatch_group_commit_size Appends committed together in one transaction
# TYPE dispatch_group_commit_size histogram
dispatch_group_commit_size_bucket{le="16.0"} 90.0
dispatch_group_commit_size_bucket{le="+Inf"} 100.0
dispatch_group_commit_size_count 100.0
dispatch_group_commit_size_sum 1600.0
# HELP dispatch_group_commit_seconds Wall time of one group's transaction
# TYPE dispatch_group_commit_seconds histogram
dispatch_group_commit_seconds_bucket{le="+Inf"} 100.0
dispatch_group_commit_seconds_count 100.0
dispatch_group_commit_seconds_sum 3.5
"""


def test_the_group_commit_is_read_from_dispatchs_metrics_and_shown_with_its_turn() -> None:
    before = groups_in(METRICS)
    assert before == Groups(count=100, appends=1600, seconds=3.5)
    after = Groups(count=400, appends=6400, seconds=14.0)
    load = after.since(before)
    assert (load.mean_size, load.mean_ms) == (16.0, 35.0)

    turn = Turn("postgresql", "dispatch", 1, 4800, 400, 0, 0, {}, 10.0, 12.0, load)
    assert "groups of 16.0 in 35.0 ms, writer busy 88%" in turn.figures
    assert "groups of" not in _turn("eventsourcing", 400, 2.0).figures


def test_a_peer_without_the_group_commits_metrics_has_no_groups() -> None:
    assert groups_in("# TYPE http_requests_total counter\nhttp_requests_total 5.0\n") is None


def test_several_processes_groups_add_up_only_when_every_one_has_them() -> None:
    one, two = Groups(10, 160, 0.5), Groups(30, 300, 1.5)
    assert summed([one, two]) == Groups(40, 460, 2.0)
    assert summed([one, None]) is None
