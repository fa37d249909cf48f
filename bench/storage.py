"""What dispatch's data takes on disk: bytes a row of its PostgreSQL tables, bytes an event
in `EVENTS`, measured on a benchmark's database after its run (docs/scaling.md).

The tables are compacted first (`VACUUM FULL`), so a row's figure is its settled size
with its indexes, not the dead versions an update leaves until vacuum. The stream's
figure comes from publishing the database's own outbox rows (subject, payload and the
relay's `Nats-Msg-Id` header) into a fresh nats-server with dispatch's stream settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from shared.database import create_engine
from shared.jetstream import MSG_ID_HEADER
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer

TABLES = (
    "events",
    "outbox",
    "work_orders",
    "idempotency_keys",
    "sla_timers",
    "resident_reports",
    "personal_data_access",
)


@dataclass(frozen=True)
class TableSize:
    """One table's rows and bytes, compacted."""

    table: str
    rows: int
    heap_bytes: int
    index_bytes: int
    total_bytes: int
    """Heap, indexes and TOAST together (`pg_total_relation_size`)."""

    @property
    def bytes_per_row(self) -> float:
        """The table's whole size shared among its rows (0 for an empty table)."""
        return round(self.total_bytes / self.rows, 1) if self.rows else 0.0


async def table_sizes(database_url: str, tables: tuple[str, ...] = TABLES) -> list[TableSize]:
    """`tables` of a PostgreSQL database, compacted by `VACUUM FULL` then measured."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            found = []
            for table in tables:
                await autocommit.exec_driver_sql(f"VACUUM FULL {table}")
                rows = await autocommit.scalar(text(f"SELECT count(*) FROM {table}"))
                sizes = await autocommit.execute(
                    text(
                        "SELECT pg_relation_size(CAST(:t AS regclass)),"
                        " pg_indexes_size(CAST(:t AS regclass)),"
                        " pg_total_relation_size(CAST(:t AS regclass))"
                    ),
                    {"t": table},
                )
                heap, indexes, total = sizes.one()
                found.append(TableSize(table, int(rows or 0), heap, indexes, total))
            return found
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class StreamSize:
    """What a stream held after the messages were published."""

    messages: int
    bytes: int
    payload_bytes: int
    """The messages' bodies alone."""

    @property
    def bytes_per_message(self) -> float:
        """The stream's bytes a message: body, subject, header and the store's framing."""
        return round(self.bytes / self.messages, 1) if self.messages else 0.0

    @property
    def payload_bytes_per_message(self) -> float:
        """A message's body on average."""
        return round(self.payload_bytes / self.messages, 1) if self.messages else 0.0


async def stream_size(database_url: str, workdir: Path) -> StreamSize:
    """The database's outbox published into `EVENTS` on a fresh nats-server in `workdir`."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT event_id, subject, payload FROM outbox ORDER BY id")
                )
            ).all()
    finally:
        await engine.dispose()
    nats = NatsServer(workdir / "storage-nats")
    nats.start(log_file=workdir / "storage-nats.log")
    try:
        client = await connect(nats.url, "bench-storage")
        try:
            js = client.jetstream()
            await ensure_streams(js, streams=(EVENTS_STREAM,))
            for event_id, subject, payload in rows:
                await js.publish(subject, bytes(payload), headers={MSG_ID_HEADER: str(event_id)})
            state = (await js.stream_info(EVENTS_STREAM)).state
        finally:
            await client.close()
    finally:
        nats.stop()
    return StreamSize(state.messages, state.bytes, sum(len(row[2]) for row in rows))
