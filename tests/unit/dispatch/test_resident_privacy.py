"""A resident's record of erasures and corrections, when an erasure is new, and when their
data falls due after the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.dispatch.domain.privacy import (
    ResidentRecord,
    ended_before,
    erasure,
    fold_record,
    is_erased,
    resident_stream_id,
    retention_due,
)
from shared.events.resident import ErasureReason, ResidentCorrected, ResidentErased

REF = "rsd_" + "a" * 24
ORDERS = (("wo-1", "sunny"),)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _erased() -> ResidentErased:
    return ResidentErased(
        resident=REF,
        work_orders=("wo-1",),
        projects=("sunny",),
        erased_by="dpo-1",
        reason=ErasureReason.REQUEST,
        keys_destroyed=1,
    )


def _corrected() -> ResidentCorrected:
    return ResidentCorrected(
        resident=REF,
        fields=("reporter.phone",),
        phone="139****1111",
        sealed={"phone": "pd1.1.x"},
        corrected_by="cs-1",
    )


def test_a_first_erasure_destroys_and_records() -> None:
    decided = erasure(ResidentRecord(), REF, ORDERS, 1, "dpo-1", ErasureReason.REQUEST)

    assert decided is not None
    assert decided.work_orders == ("wo-1",) and decided.projects == ("sunny",)
    assert decided.keys_destroyed == 1


def test_erasing_again_with_nothing_left_is_the_first_erasure_replayed() -> None:
    record = fold_record([_erased()])

    assert erasure(record, REF, (), 0, "dpo-1", ErasureReason.REQUEST) is None


def test_an_erasure_interrupted_before_the_index_was_cleared_is_finished_not_repeated() -> None:
    record = fold_record([_erased()])

    assert erasure(record, REF, ORDERS, 0, "dpo-1", ErasureReason.REQUEST) is None


def test_a_resident_who_reported_again_after_an_erasure_is_erased_anew() -> None:
    record = fold_record([_erased()])
    again = (("wo-2", "sunny"),)

    decided = erasure(record, REF, again, 1, "retention", ErasureReason.RETENTION)

    assert decided is not None and decided.work_orders == ("wo-2",)


def test_an_erasure_voids_the_corrections_before_it() -> None:
    record = fold_record([_corrected(), _erased()])

    assert record.version == 2
    assert record.corrected is None and record.erased is not None
    assert fold_record([_erased(), _corrected()]).corrected == _corrected()


def test_a_resident_is_erased_while_no_order_of_theirs_is_newer_than_the_erasure() -> None:
    record = fold_record([_erased()])

    assert is_erased(record, ["wo-1"]) and is_erased(record, [])
    assert not is_erased(record, ["wo-1", "wo-2"])
    assert not is_erased(ResidentRecord(), [])


def test_the_stream_is_named_by_the_reference() -> None:
    assert resident_stream_id(REF) == f"resident:{REF}"


def test_data_falls_due_the_retention_period_after_the_latest_order_ended() -> None:
    assert retention_due(T0, 1095) == T0 + timedelta(days=1095)
    assert ended_before(T0 + timedelta(days=1095), 1095) == T0
