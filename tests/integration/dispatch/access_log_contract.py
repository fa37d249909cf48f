"""The contract of an `AccessLog`, written once for every implementation.

A backend's suite subclasses `AccessLogContract` with its `access_log` fixture; the SQL
one runs on SQLite and PostgreSQL (`database_url`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.dispatch.service_layer.access_log import AccessEntry, AccessLog, AccessQuery

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TENANT = "acme"


def viewed(
    minutes: int,
    *,
    subject: str = "cs-1",
    resident: str | None = "res-1",
    tenant: str = TENANT,
) -> AccessEntry:
    """A clear view `minutes` after T0."""
    return AccessEntry(
        tenant=tenant,
        at=T0 + timedelta(minutes=minutes),
        subject=subject,
        role="customer_service",
        resident=resident,
        work_order_id=f"wo-{minutes}",
        fields=("reporter.name", "reporter.phone"),
        purpose="GET /v1/work-orders/{work_order_id}",
    )


class AccessLogContract:
    """What every access log promises. Subclasses give an `access_log` fixture."""

    async def test_an_entry_reads_back_as_written(self, access_log: AccessLog) -> None:
        entry = viewed(0, resident=None)

        await access_log.record([entry])
        [read] = await access_log.read(AccessQuery(TENANT), 10)

        assert (read.tenant, read.at, read.subject, read.role) == (
            TENANT,
            T0,
            "cs-1",
            "customer_service",
        )
        assert (read.resident, read.work_order_id) == (None, "wo-0")
        assert read.fields == ("reporter.name", "reporter.phone")
        assert read.purpose == "GET /v1/work-orders/{work_order_id}"

    async def test_entries_read_newest_first_and_page_by_id(self, access_log: AccessLog) -> None:
        await access_log.record([viewed(1), viewed(2)])
        await access_log.record([viewed(3)])

        first = await access_log.read(AccessQuery(TENANT), 2)
        rest = await access_log.read(AccessQuery(TENANT, before_id=first[-1].id), 2)

        assert [e.work_order_id for e in first] == ["wo-3", "wo-2"]
        assert [e.work_order_id for e in rest] == ["wo-1"]

    async def test_a_query_filters_by_resident_subject_and_time(
        self, access_log: AccessLog
    ) -> None:
        await access_log.record(
            [
                viewed(1, resident="res-1", subject="cs-1"),
                viewed(2, resident="res-2", subject="cs-1"),
                viewed(3, resident="res-1", subject="tech-wang"),
                viewed(4, resident="res-1", subject="cs-1", tenant="other"),
            ]
        )

        def ids(found: Sequence[AccessEntry]) -> list[str | None]:
            return [e.work_order_id for e in found]

        by_resident = await access_log.read(AccessQuery(TENANT, resident="res-1"), 10)
        by_subject = await access_log.read(AccessQuery(TENANT, subject="cs-1"), 10)
        window = AccessQuery(
            TENANT, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=3)
        )
        in_window = await access_log.read(window, 10)

        assert ids(by_resident) == ["wo-3", "wo-1"]
        assert ids(by_subject) == ["wo-2", "wo-1"]
        assert ids(in_window) == ["wo-2"]

    async def test_pruning_deletes_the_oldest_expired_entries_a_batch_at_a_time(
        self, access_log: AccessLog
    ) -> None:
        await access_log.record([viewed(3), viewed(1), viewed(2), viewed(10)])

        first = await access_log.prune(T0 + timedelta(minutes=5), 2)
        second = await access_log.prune(T0 + timedelta(minutes=5), 2)
        left = await access_log.read(AccessQuery(TENANT), 10)

        assert (first, second) == (2, 1)
        assert [e.work_order_id for e in left] == ["wo-10"]
