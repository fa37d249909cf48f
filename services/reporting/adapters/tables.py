"""reporting's tables: the read model, its stream positions, pending buffer, checkpoint, dead letters.

Every read-model table carries a `generation`: the live projector writes the generation
named in `rp_generation`, a rebuild fills the next one beside it and then switches the
pointer in one transaction, so readers never see a half-built read model. Schema owned by
Alembic (adapters/migrations).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from shared.sqltypes import BigIntPK, UTCDateTime

metadata = MetaData()

generation = Table(
    "rp_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("current", Integer, nullable=False),
    Column("switched_at", UTCDateTime, nullable=True),
)

orders = Table(
    "rp_orders",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("order_id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The whole fold (`OrderFacts.to_json`): the KPIs read nothing else.
    Column("facts", Text, nullable=False),
    # The number people read, from the report event (NULL for orders reported before
    # numbers): what drill-downs and breach lists show beside the id.
    Column("number", String(64), nullable=True),
)
Index(
    "ix_rp_orders_scope",
    orders.c.generation,
    orders.c.tenant,
    orders.c.project,
    orders.c.updated_at,
)

# The open orders (backlog, at-risk clocks) of a tenant or of some of its projects: with the
# project in the index, SQLite's planner takes it for a project's open orders too, instead
# of reading every order the project ever had through the scope index.
Index(
    "ix_rp_orders_status", orders.c.generation, orders.c.tenant, orders.c.status, orders.c.project
)

# Every sample of every order (except snapshots), as `kpis.Kpi.samples` draws it from the
# order's facts: the figures of filtered and grouped queries and the orders behind a figure.
# Clustered on what those read (a KPI's samples of a project over a period: one range),
# a WITHOUT ROWID table on SQLite. No other index: the projector deletes a changed order's
# old samples by this key, drawn again from the order's stored facts.
kpi_samples = Table(
    "rp_kpi_samples",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(64), primary_key=True),
    Column("kpi", String(40), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("at", UTCDateTime, primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("hit", Boolean, nullable=True),
    Column("measure", Double, nullable=True),
    Column("label", String(40), nullable=True),
    Column("band", Integer, nullable=True),
    Column("building", String(200), nullable=True),
    Column("kind", String(32), nullable=True),
    Column("category", String(200), nullable=True),
    Column("technician", String(128), nullable=True),
    Column("team", String(128), nullable=True),
    sqlite_with_rowid=False,
)

# The samples counted per UTC hour (span 1) and UTC day (span 24), see domain/rollup.py:
# an unfiltered figure sums a few thousand of these rows instead of drawing every sample.
kpi_rollup = Table(
    "rp_kpi_rollup",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(64), primary_key=True),
    Column("span", Integer, primary_key=True, autoincrement=False),
    Column("project", String(64), primary_key=True),
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("kpi", String(40), primary_key=True),
    Column("label", String(40), primary_key=True),
    Column("hit", Integer, primary_key=True, autoincrement=False),
    Column("band", Integer, primary_key=True, autoincrement=False),
    Column("samples", Integer, nullable=False),
)

# notify's delivery outcomes, one row per notification event (see domain/notifications.py).
notification_events = Table(
    "rp_notification_events",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("stream_id", String(160), primary_key=True),
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("template", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("work_order_id", String(200), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index(
    "ix_rp_notification_events_period",
    notification_events.c.generation,
    notification_events.c.tenant,
    notification_events.c.project,
    notification_events.c.at,
)
Index(
    "ix_rp_notification_events_order",
    notification_events.c.generation,
    notification_events.c.work_order_id,
)

# Duration measures counted per KPI, band, UTC hour / day and exact value: a percentile
# reads only the rows of the band holding its rank (keyed so that is one index range).
kpi_measures = Table(
    "rp_kpi_measures",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(64), primary_key=True),
    Column("kpi", String(40), primary_key=True),
    Column("band", Integer, primary_key=True, autoincrement=False),
    Column("span", Integer, primary_key=True, autoincrement=False),
    Column("project", String(64), primary_key=True),
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("measure", Double, primary_key=True),
    Column("samples", Integer, nullable=False),
)

projects = Table(
    "rp_projects",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("households", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)

positions = Table(
    "rp_positions",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("stream_id", String(160), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Events that arrived ahead of their stream (a gap) and skip markers of poison events.
pending = Table(
    "rp_pending",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("stream_id", String(160), primary_key=True),
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("event", Text, nullable=True),
)

checkpoints = Table(
    "rp_checkpoints",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("consumer", String(64), primary_key=True),
    Column("stream_sequence", Integer, nullable=False),
    Column("events_applied", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "rp_dead_letters",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    # `event:<id>` or `body:<sha-256>` (`shared.consumer.dead_letter_key`): never the
    # stream sequence, which starts again after a stream loss.
    Column("letter_key", String(80), nullable=False),
    # From the envelope; None when the body was no envelope (only the operator sees it).
    Column("tenant", String(64), nullable=True),
    Column("project", String(64), nullable=True),
    Column("subject", String(255), nullable=False),
    Column("stream_sequence", Integer, nullable=False),
    Column("event_id", String(64), nullable=True),
    Column("stream_id", String(160), nullable=True),
    Column("sequence", Integer, nullable=True),
    Column("error", Text, nullable=False),
    Column("num_delivered", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("skipped", Boolean, nullable=False),
)
Index("ux_rp_dead_letters_key", dead_letters.c.consumer, dead_letters.c.letter_key, unique=True)
Index("ix_rp_dead_letters_tenant", dead_letters.c.tenant, dead_letters.c.id)

leases = Table(
    "rp_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
"""Which reporting process runs the projector (the lease named after its durable), until
when: renewed by its holder, taken by a standby once it has expired."""
