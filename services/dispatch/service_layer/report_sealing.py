"""Sealing the reports a store recorded before sealing (`wo dispatch seal-personal-data`).

Until sealing was wired, a `workorder.reported` event held its reporter's name, phone and
unit in clear, and so did every copy dispatch keeps of it: the outbox's payload, the
listing's summary and the idempotency records' stored answers. Crypto-shredding erases a
resident by destroying their key, which reaches only what was sealed under it: a clear
copy left anywhere would survive the erasure. So this is the one place an event's stored
data is rewritten (docs/privacy.md, "Stores written before sealing"): each such report
gets the shape the report command gives it now (`seal_report`: reference, masks, tokens
under the resident's key), and every copy of it in dispatch's tables follows. The
event's id, type, stream, version, times and every non-personal field stay as they were.

Batched, a transaction a batch: a crash loses at most the batch in flight, and a second
run skips what is sealed already (`is_sealed`), so running it again finishes the work and
running it once more changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from services.dispatch.domain.workorder import is_sealed
from services.dispatch.service_layer.personal_data import seal_report
from shared.events.workorder import Location, Reporter
from shared.privacy.fields import PersonalFields


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A `workorder.reported` event as the store holds it."""

    event_id: UUID
    work_order_id: str
    tenant: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SealedReport:
    """A report's data in the sealed shape, to store in place of its clear data."""

    report: StoredReport
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rewritten:
    """The rows one batch rewrote, by table."""

    events: int = 0
    outbox_rows: int = 0
    listings: int = 0
    idempotency_records: int = 0
    access_log_entries: int = 0

    def __add__(self, other: Rewritten) -> Rewritten:
        return Rewritten(
            self.events + other.events,
            self.outbox_rows + other.outbox_rows,
            self.listings + other.listings,
            self.idempotency_records + other.idempotency_records,
            self.access_log_entries + other.access_log_entries,
        )


class ReportStore(Protocol):
    """The reports of dispatch's store and the copies of them (adapters.report_sealing)."""

    async def reports(self, after: str | None, limit: int) -> Sequence[StoredReport]:
        """Up to `limit` reports, sealed or not, of work orders after `after` by id."""
        ...

    async def replace(self, sealed: Sequence[SealedReport]) -> Rewritten:
        """Store each report's sealed data and rewrite its copies, in one transaction."""
        ...


def sealed_copy(body: dict[str, Any], sealed: dict[str, Any]) -> dict[str, Any]:
    """A work order's representation (a listing summary, a command's stored answer) with
    its reporter and location as the sealed report gives them, the way the work order's
    state folds them from it. A representation without them is returned as it is."""
    out = dict(body)
    if isinstance(out.get("reporter"), dict) and isinstance(sealed.get("reporter"), dict):
        out["reporter"] = Reporter.model_validate(sealed["reporter"]).model_dump(mode="json")
    if isinstance(out.get("location"), dict) and isinstance(sealed.get("location"), dict):
        out["location"] = Location.model_validate(sealed["location"]).model_dump(mode="json")
    return out


def rekeyed_fingerprint(key: bytes, fingerprint: str) -> str:
    """A report's idempotency fingerprint recorded before sealing, made unusable for
    testing guesses: it was a plain SHA-256 of the command, clear name and phone included,
    which anyone with the database could test guesses of the masked digits against. The
    command is gone, so the report's own keyed fingerprint cannot be computed; this one
    matches no command, and a retry of that report with its old key is refused
    (`idempotency_key_reused`) rather than taken for a new report."""
    return hmac.new(
        key, b"pre-sealing fingerprint:" + fingerprint.encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class BatchDone:
    """What a batch did, for progress: reports read so far, and the rows it rewrote."""

    read: int
    rewritten: Rewritten


async def seal_stored_reports(
    store: ReportStore,
    fields: PersonalFields,
    reference_key: bytes,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[BatchDone], None] | None = None,
) -> Rewritten:
    """Seal every report recorded in clear, `batch_size` reports read per transaction;
    return the rows rewritten (with `dry_run`, the reports that would be: `events` only).

    The tokens are made before the batch's transaction opens: making one may create a
    resident's key in the key ring, in a transaction of its own (SQLite has one writer).
    A key made for a batch that then fails is the key the next run finds and uses.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    total = Rewritten()
    read = 0
    after: str | None = None
    while True:
        page = await store.reports(after, batch_size)
        if not page:
            return total
        after = page[-1].work_order_id
        read += len(page)
        clear = [report for report in page if not is_sealed(report.data)]
        if dry_run:
            done = Rewritten(events=len(clear))
        else:
            sealed = [
                SealedReport(
                    r,
                    await seal_report(r.data, r.tenant, r.work_order_id, fields, reference_key),
                )
                for r in clear
            ]
            done = await store.replace(sealed) if sealed else Rewritten()
        total += done
        if on_batch is not None:
            on_batch(BatchDone(read, done))
