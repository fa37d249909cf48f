"""The outbox publisher's waves: how a round's rows are cut so no lane is overtaken."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from shared.jetstream import OutgoingMessage
from shared.outbox import OutboxRow, waves

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def rows(lanes: list[str]) -> list[OutboxRow]:
    """One row per entry, in this order, on the lane named."""
    return [
        OutboxRow(
            n, lane, OutgoingMessage(f"events.t.p.workorder.{lane}", b"{}", f"{lane}-{n}"), T0
        )
        for n, lane in enumerate(lanes)
    ]


def names(wave: list[OutboxRow]) -> list[str]:
    return [row.message.msg_id for row in wave]


def test_one_deep_lanes_put_each_work_orders_kth_event_in_wave_k() -> None:
    claimed = rows(["a", "b", "a", "c", "a", "b"])

    assert [names(w) for w in waves(claimed, 1)] == [
        ["a-0", "b-1", "c-3"],
        ["a-2", "b-5"],
        ["a-4"],
    ]


def test_a_deeper_lane_goes_in_slices_of_its_depth_in_order() -> None:
    claimed = rows(["n"] * 5)

    assert [names(w) for w in waves(claimed, 2)] == [["n-0", "n-1"], ["n-2", "n-3"], ["n-4"]]


def test_no_rows_make_no_waves() -> None:
    assert waves([], 1) == []


@given(st.lists(st.sampled_from("abcd"), max_size=40), st.integers(min_value=1, max_value=5))
def test_every_row_goes_once_each_lane_in_order_and_at_most_depth_of_it_per_wave(
    lanes: list[str], depth: int
) -> None:
    claimed = rows(lanes)

    cut = waves(claimed, depth)

    flat = [row for wave in cut for row in wave]
    assert sorted(row.id for row in flat) == [row.id for row in claimed]
    for lane in set(lanes):
        assert [r.id for r in flat if r.lane == lane] == [r.id for r in claimed if r.lane == lane]
    for wave in cut:
        assert wave
        assert all(sum(r.lane == lane for r in wave) <= depth for lane in lanes)
