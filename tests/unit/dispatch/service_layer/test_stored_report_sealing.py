"""Sealing reports stored before sealing (`service_layer.report_sealing`), without I/O:
clear reports are sealed batch by batch, sealed ones skipped, a dry run writes nothing,
and a work order's representation takes the sealed reporter and location."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from services.dispatch.domain.workorder import is_sealed
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.report_sealing import (
    BatchDone,
    Rewritten,
    SealedReport,
    StoredReport,
    rekeyed_fingerprint,
    seal_stored_reports,
    sealed_copy,
)

PRIVACY = Privacy.in_memory(b"m" * 32)


def _data(name: str, phone: str) -> dict[str, Any]:
    return {
        "kind": "repair",
        "category": "plumbing",
        "urgency": "normal",
        "location": {"building": "3", "unit": "2-1202", "detail": "厨房2号"},
        "reporter": {"name": name, "phone": phone, "resident_id": None},
        "channel": "phone",
        "description": "漏水",
        "owner": "cs-li",
    }


class _Store:
    def __init__(self, reports: list[StoredReport]) -> None:
        self.reports_by_order = {r.work_order_id: r for r in reports}
        self.transactions = 0

    async def reports(self, after: str | None, limit: int) -> Sequence[StoredReport]:
        ids = sorted(i for i in self.reports_by_order if after is None or i > after)
        return [self.reports_by_order[i] for i in ids[:limit]]

    async def replace(self, sealed: Sequence[SealedReport]) -> Rewritten:
        self.transactions += 1
        for s in sealed:
            r = s.report
            self.reports_by_order[r.work_order_id] = StoredReport(
                r.event_id, r.work_order_id, r.tenant, s.data
            )
        return Rewritten(events=len(sealed))


def _run(store: _Store, **kw: Any) -> Rewritten:
    return asyncio.run(
        seal_stored_reports(store, PRIVACY.fields, PRIVACY.reference_key, batch_size=2, **kw)
    )


def _store() -> _Store:
    return _Store(
        [
            StoredReport(uuid.uuid4(), f"wo-{i}", "acme", _data(f"王{i}", f"1380000000{i}"))
            for i in range(5)
        ]
    )


def test_clear_reports_are_sealed_a_batch_at_a_time_and_sealed_ones_skipped() -> None:
    store = _store()
    batches: list[BatchDone] = []

    assert _run(store, on_batch=batches.append) == Rewritten(events=5)
    assert all(is_sealed(r.data) for r in store.reports_by_order.values())
    assert [b.read for b in batches] == [2, 4, 5] and store.transactions == 3
    assert _run(store) == Rewritten()  # once sealed, nothing to do
    assert store.transactions == 3


def test_a_dry_run_counts_and_writes_nothing() -> None:
    store = _store()

    assert _run(store, dry_run=True) == Rewritten(events=5)
    assert store.transactions == 0
    assert not any(is_sealed(r.data) for r in store.reports_by_order.values())


def test_a_representation_takes_the_sealed_reporter_and_location() -> None:
    store = _store()
    _run(store)
    sealed = store.reports_by_order["wo-1"].data
    summary = {"id": "wo-1", "status": "assigned", **_data("王1", "13800000001")}

    copy = sealed_copy(summary, sealed)

    assert copy["status"] == "assigned" and copy["description"] == "漏水"
    assert copy["reporter"]["name"] == "王*" and copy["reporter"]["resident"].startswith("rsd_")
    assert copy["location"]["unit"] == "*-****" and "unit" in copy["location"]["sealed"]
    assert "王1" not in str(copy) and "13800000001" not in str(copy)
    assert sealed_copy({"id": "wo-1"}, sealed) == {"id": "wo-1"}  # nothing to replace


def test_an_old_fingerprint_is_rekeyed_to_one_no_command_matches() -> None:
    old = "a" * 64
    new = rekeyed_fingerprint(PRIVACY.fingerprint_key, old)

    assert new != old and len(new) == 64
    assert new == rekeyed_fingerprint(PRIVACY.fingerprint_key, old)
