"""`wo dispatch seal-personal-data`: seal the reports a store recorded before sealing, in
dispatch's tables and on the EVENTS stream (docs/operations.md, docs/privacy.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from nats.errors import Error as NatsError
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.outbox import republish_lock
from services.dispatch.adapters.report_sealing import SqlReportStore
from services.dispatch.adapters.resident_index import SqlResidentIndex
from services.dispatch.adapters.stream_sealing import replace_clear_reports
from services.dispatch.entrypoints.bootstrap import privacy_of
from services.dispatch.service_layer.report_sealing import (
    BatchDone,
    Rewritten,
    seal_stored_reports,
)
from services.dispatch.settings import DispatchSettings
from shared.cli import CliFailure, cause, connect_quietly, engine_for, first_line
from shared.clock import SystemClock
from shared.stream_rewrite import Replaced


@dataclass(frozen=True, slots=True)
class Migrated:
    """What a run did: the store's rows rewritten, the stream's messages replaced."""

    store: Rewritten
    stream: Replaced


async def seal_personal_data(
    database_url: str,
    nats_url: str,
    settings: DispatchSettings,
    *,
    batch_size: int,
    dry_run: bool,
    console: Console,
    wait_seconds: float = 5.0,
    on_batch: Callable[[BatchDone], None] | None = None,
) -> Migrated:
    """Seal the store's clear reports batch by batch, then replace their stream copies."""
    engine = engine_for(database_url)
    try:
        privacy = privacy_of(engine, settings, SystemClock())
    except ValueError as exc:
        await engine.dispose()
        raise CliFailure(str(exc)) from None
    shown = make_url(database_url).render_as_string(hide_password=True)
    verb = "would seal" if dry_run else "sealed"

    def batch_done(done: BatchDone) -> None:
        console.print(
            f"{done.read:,} reports read; {verb} {done.rewritten.events:,} in this batch.",
            highlight=False,
        )
        if on_batch is not None:
            on_batch(done)

    store = SqlEventStore(engine)
    try:
        try:
            rewritten = await seal_stored_reports(
                SqlReportStore(engine, privacy.fingerprint_key),
                privacy.fields,
                privacy.reference_key,
                batch_size=batch_size,
                dry_run=dry_run,
                on_batch=batch_done,
            )
            if rewritten.events and not dry_run:
                # The index names each report's resident by reference: the sealed
                # reports' references are new.
                indexed = await SqlResidentIndex(engine, privacy).rebuild()
                console.print(f"Rebuilt the residents' index: {indexed:,} reports.")
        except (SQLAlchemyError, OSError) as exc:
            await asyncio.sleep(0.1)  # let aiosqlite's thread end before the loop closes
            raise CliFailure(f"cannot seal the reports in {shown}: {cause(exc)}") from None
        nc = await connect_quietly(nats_url, "dispatch-seal-personal-data", wait_seconds)
        try:
            # On PostgreSQL every relay's claim takes this lock shared: none publishes
            # while the stream is rewritten (on SQLite, dispatch must be stopped).
            async with republish_lock(engine):
                stream = await replace_clear_reports(
                    nc.jetstream(),
                    store,
                    batch_size=batch_size,
                    dry_run=dry_run,
                    on_wait=lambda s: console.print(
                        f"Waiting {s:.0f} s for JetStream's duplicate window to pass over the "
                        "newest message to replace.",
                        highlight=False,
                    ),
                    on_progress=lambda done, total: console.print(
                        f"Replaced the messages of {done:,} of {total:,} work orders.",
                        highlight=False,
                    ),
                )
        except NatsError as exc:
            raise CliFailure(f"NATS error: {first_line(exc)}") from None
        except (SQLAlchemyError, OSError) as exc:
            raise CliFailure(f"cannot replace the stream's reports: {cause(exc)}") from None
        finally:
            await nc.close()
    finally:
        await store.close()
        await engine.dispose()
    return Migrated(rewritten, stream)


def summary(migrated: Migrated, dry_run: bool) -> str:
    """The run's outcome in one paragraph."""
    s, m = migrated.store, migrated.stream
    if dry_run:
        return (
            f"Dry run: {s.events:,} reports to seal in the store; {m.groups:,} work "
            f"orders with a clear report on the stream ({m.deleted:,} messages to replace)."
        )
    skipped = f"; {m.skipped:,} work orders left for the next run (see above)" if m.skipped else ""
    return (
        f"Sealed {s.events:,} reports; rewrote {s.outbox_rows:,} outbox rows, "
        f"{s.listings:,} listing summaries, {s.idempotency_records:,} idempotency "
        f"records and {s.access_log_entries:,} access-log entries; replaced the messages of {m.groups - m.skipped:,} work orders on "
        f"the stream ({m.published:,} published, {m.deleted:,} erased){skipped}."
    )
