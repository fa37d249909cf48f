"""Residents found by phone: one canonical number, a keyed blind index, grouped reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.dispatch.domain.residents import (
    Home,
    ResidentReport,
    phone_index,
    residents_among,
)
from shared.errors import InvalidInput
from shared.phones import normalise_phone

KEY = b"k" * 32
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "written",
    [
        "13800000000",
        "138 0000 0000",
        "138-0000-0000",
        "+86 138 0000 0000",
        "+86-13800000000",
        "0086 138 0000 0000",
        "8613800000000",
        "１３８ ００００ ００００",
        "(+86) 138.0000.0000",
    ],
)
def test_a_mobile_number_in_any_common_format_is_the_same_number(written: str) -> None:
    assert normalise_phone(written) == "13800000000"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("010-1234 5678", "01012345678"),
        ("+86 10 1234 5678", "01012345678"),
        ("(021) 6234-5678", "02162345678"),
        ("95598", "95598"),
        ("+852 9123 4567", "+85291234567"),
        ("00852 9123 4567", "+85291234567"),
    ],
)
def test_landlines_service_numbers_and_other_countries_keep_what_tells_them_apart(
    written: str, canonical: str
) -> None:
    assert normalise_phone(written) == canonical


@pytest.mark.parametrize("written", ["", "   ", "call the neighbour", "138x0000", "1234", "1" * 16])
def test_text_that_is_no_phone_number_is_refused(written: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_phone(written)
    assert refused.value.code == "invalid_phone"


def test_the_blind_index_needs_the_key_and_never_holds_the_number() -> None:
    index = phone_index(KEY, "+86 138 0000 0000")

    assert index == phone_index(KEY, "13800000000")
    assert index != phone_index(b"o" * 32, "13800000000")
    assert index is not None and "13800000000" not in index and len(index) == 64
    assert phone_index(KEY, None) is None
    assert phone_index(KEY, "ask at the desk") is None


def _report(n: int, name: str, **kw: object) -> ResidentReport:
    values: dict[str, object] = {
        "work_order_id": f"wo-{n}",
        "project": "sunny",
        "resident_id": None,
        "name": name,
        "building": "b1",
        "unit": "1-101",
        "number": f"SG-20260302-000{n}",
        "status": "reported",
        "kind": "repair",
        "category": "plumbing",
        "reported_at": T0 + timedelta(hours=n),
    }
    values.update(kw)
    return ResidentReport(**values)  # type: ignore[arg-type]


def test_reports_group_by_resident_login_else_by_name_newest_first() -> None:
    reports = [
        _report(1, "张三"),
        _report(2, "张三 ", unit="1-102"),
        _report(3, "李四", resident_id="res-4", building="b2", unit="2-101"),
        _report(4, "李四（app）", resident_id="res-4", building="b2", unit="2-101"),
        _report(5, "张三", building=None, unit=None, kind="complaint"),
    ]

    zhang, li = residents_among(reports, recent_each=2)

    assert (zhang.resident_id, zhang.name) == (None, "张三")
    assert zhang.homes == (Home("sunny", "b1", "1-102"), Home("sunny", "b1", "1-101"))
    assert [r.work_order_id for r in zhang.recent] == ["wo-5", "wo-2"]
    assert (li.resident_id, li.name) == ("res-4", "李四（app）")
    assert li.homes == (Home("sunny", "b2", "2-101"),)
    assert residents_among([], recent_each=5) == []
