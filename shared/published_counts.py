"""How many of an outbox's rows the stream acknowledged, kept as counts per day.

The publisher's stream check (`shared.stream_check`) compares the stream with what the
store says was published. Counting the published rows for it is a scan of a table that
grows with the history, every `count_seconds`: at a large group's pace it outgrows its
own period within weeks. So each settlement adds the rows it marked to a count of its
UTC day, in the same transaction, and the check sums the days the stream still keeps.

A day's count is spread over a few rows (`SHARDS`, one picked at random per settlement)
so that publishers in several processes do not queue on one row lock.
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    MetaData,
    SmallInteger,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

SHARDS = 8
"""Rows each day's count is spread over."""

RETENTION_MARGIN = timedelta(hours=1)
"""How much sooner than the stream's max age a published event is no longer counted on:
near the end of its age it may be gone from the stream already."""


def published_counts_table(metadata: MetaData, name: str) -> Table:
    """The table of an outbox's published counts: (day, shard) -> rows published."""
    return Table(name, metadata, *_columns())


def _columns() -> list[Column[Any]]:
    # New columns each time: a column belongs to one table (the model's, a migration's).
    return [
        Column("day", Date, primary_key=True),
        Column("shard", SmallInteger, primary_key=True),
        Column("published", BigInteger, nullable=False),
    ]


async def count_published(conn: AsyncConnection, table: Table, rows: int, at: datetime) -> None:
    """Add `rows` published at `at` to their day's count (in the caller's transaction)."""
    if rows <= 0:
        return
    values = {
        "day": at.astimezone(UTC).date(),
        "shard": random.randrange(SHARDS),
        "published": rows,
    }
    await conn.execute(_increment(conn.dialect.name, table), values)


async def kept_published(
    conn: AsyncConnection, table: Table, max_age_days: int, now: datetime
) -> int:
    """Rows published on the days the stream still keeps whole (every day without a max
    age): a day is counted only if it began after `now - max_age + RETENTION_MARGIN`."""
    query = select(func.coalesce(func.sum(table.c.published), 0))
    if max_age_days > 0:
        # The boundary's own day is not counted: the stream may have dropped some of it.
        boundary = now.astimezone(UTC) - timedelta(days=max_age_days) + RETENTION_MARGIN
        query = query.where(table.c.day > boundary.date())
    return int(await conn.scalar(query) or 0)


@functools.cache
def _increment(dialect_name: str, table: Table) -> Executable:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    increment: Executable = statement.on_conflict_do_update(
        index_elements=["day", "shard"],
        set_={"published": table.c.published + statement.excluded.published},
    )
    return increment


def create_published_counts(counts: str, outbox: str, published: str) -> None:
    """A migration's upgrade: create the table `counts` and count into it the rows of
    `outbox` already published (where `published` holds), one row per day."""
    from alembic import op  # only a migration runs this, inside Alembic's context

    op.create_table(counts, *_columns())
    op.execute(text(backfill_sql(op.get_bind().dialect.name, counts, outbox, published)))


def backfill_sql(dialect_name: str, counts: str, outbox: str, published: str) -> str:
    """The statement counting the rows of `outbox` published (where `published` holds)
    into `counts`, one row per UTC day of `published_at`."""
    if dialect_name == "postgresql":
        day = "CAST(published_at AT TIME ZONE 'UTC' AS DATE)"
    else:
        day = "date(published_at)"
    # The names and the condition are the caller's own constants, never input.
    return (
        f"INSERT INTO {counts} (day, shard, published) "
        f"SELECT {day}, 0, COUNT(*) FROM {outbox} WHERE {published} GROUP BY {day}"
    )
