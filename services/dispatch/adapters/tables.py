"""dispatch's tables: the event store, its outbox, idempotency keys and inline views.

The schema is owned by Alembic (adapters/migrations); these definitions are what the
migrations create and what the code queries.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from shared.published_counts import published_counts_table
from shared.sqltypes import BigIntPK, UTCDateTime

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("stream_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("type_name", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Column("event_metadata", JSON, nullable=False),
)
Index("ix_events_recorded", events.c.recorded_at, events.c.stream_id, events.c.version)
# The first event of every stream (a work order's report, a project's registration), by
# when it was recorded: what the residents' index catches up from (`resident_index`).
Index(
    "ix_events_stream_starts",
    events.c.recorded_at,
    sqlite_where=text("version = 1"),
    postgresql_where=text("version = 1"),
)

# status: 'pending' until JetStream acknowledged the message, then 'published'.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("stream_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
)
Index(
    "ix_outbox_pending",
    outbox.c.stream_id,
    outbox.c.id,
    sqlite_where=text("status = 'pending'"),
    postgresql_where=text("status = 'pending'"),
)
Index(
    "ix_outbox_pending_id",
    outbox.c.id,
    sqlite_where=text("status = 'pending'"),
    postgresql_where=text("status = 'pending'"),
)

outbox_published = published_counts_table(metadata, "outbox_published")
"""The outbox's rows published, counted per day as they are marked (the stream check)."""

# A key is the caller's own (tenant + subject): another caller's same key is another command.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("effect", String(16), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)

# Inline view for listing and filtering; the event stream stays the system of record.
work_orders = Table(
    "work_orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("category", String(200), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("assignee", String(128), nullable=True),
    Column("reporter_resident_id", String(128), nullable=True),
    Column("building", String(200), nullable=True),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
    # When the current assignee got the order: a technician's idle time for dispatch.
    Column("assigned_at", UTCDateTime, nullable=True),
    # Who holds an open offer of the order, as ",tech-a,tech-b," (`offered_to_column`).
    Column("offered_to", Text, nullable=True),
    # The number people read (SG-20261201-0042); NULL for orders reported before numbers.
    Column("number", String(64), nullable=True),
)
Index(
    "ix_work_orders_scope", work_orders.c.tenant, work_orders.c.project, work_orders.c.reported_at
)
Index("ix_work_orders_assignee", work_orders.c.tenant, work_orders.c.assignee)
Index("ix_work_orders_owner", work_orders.c.tenant, work_orders.c.owner)
# Unique: a second order with a number already taken in its project fails its append
# rather than being listed, whatever went wrong upstream of it.
Index(
    "ux_work_orders_number",
    work_orders.c.tenant,
    work_orders.c.number,
    work_orders.c.project,
    unique=True,
)

# The last sequence number given to a work order of a project on a local day (YYYYMMDD).
# Read under the row's lock and advanced in the append's own transaction
# (adapters/order_numbers.py), so numbers never repeat within a project.
work_order_counters = Table(
    "work_order_counters",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)

# The residents' blind index (`resident_index`): each reported work order with the keyed
# HMAC of its reporter's phone (NULL: no number), never the number itself, and the
# reporter's pseudonymous reference (`subject`; NULL in rows written before 0017). Written
# with each report, inline; rebuilt from the `workorder.reported` events, whose sealed
# phones the key ring opens (`wo dispatch rebuild-residents`).
resident_reports = Table(
    "resident_reports",
    metadata,
    Column("work_order_id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("phone_index", String(64), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("subject", String(64), nullable=True),
)
Index("ix_resident_reports_phone", resident_reports.c.tenant, resident_reports.c.phone_index)
Index("ix_resident_reports_subject", resident_reports.c.tenant, resident_reports.c.subject)
Index("ix_resident_reports_recorded", resident_reports.c.recorded_at)

projects = Table(
    "projects",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("households", Integer, nullable=False),
    Column("details", JSON, nullable=False),
    Column("version", Integer, nullable=False),
)

# Derived from the SLA events of each work order and replaced with every append to it;
# `wo dispatch rebuild-timers` (and the replay test) rebuild it from the event store.
sla_timers = Table(
    "sla_timers",
    metadata,
    Column("work_order_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("clock", String(32), nullable=False),
    Column("fires_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("timer", JSON, nullable=False),
)
Index("ix_sla_timers_fires_at", sla_timers.c.fires_at)
# Partial indexes: the next unclaimed timer in order, and the earliest claim end among
# the few claimed rows. (A plain index on `claimed_until` matched every unclaimed row and
# sorted them, on each wake-up of the scheduler.)
Index(
    "ix_sla_timers_claimed",
    sla_timers.c.claimed_until,
    sqlite_where=sla_timers.c.claimed_until.is_not(None),
    postgresql_where=sla_timers.c.claimed_until.is_not(None),
)
Index(
    "ix_sla_timers_unclaimed",
    sla_timers.c.fires_at,
    sqlite_where=sla_timers.c.claimed_until.is_(None),
    postgresql_where=sla_timers.c.claimed_until.is_(None),
)

# A tenant's SLA policy versions, append-only: a running clock names the version it began
# under, so an old version is never changed. Version 1 is `default_policy()` and is not
# stored; the first version a tenant publishes is 2. `projects` is the version's scope
# (a sorted list of project slugs), NULL for a tenant-wide version.
sla_policies = Table(
    "sla_policies",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("policy", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("projects", JSON, nullable=True),
)

# Public-holiday schedules (调休) loaded for a year: by a tenant for itself, or by the
# operator for every tenant (scope "*"). Configuration, latest value wins.
public_holidays = Table(
    "public_holidays",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("schedule", JSON, nullable=False),
    Column("loaded_by", String(128), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

# The staff directory, rosters and dispatch rules are configuration (latest value wins),
# not event-sourced: see domain/assignment/ (staff.py, roster.py, ranking.py).
staff = Table(
    "staff",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("staff_id", String(128), primary_key=True),
    Column("record", JSON, nullable=False),
    Column("availability", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Teams (班组) per tenant: staff records and roster shifts name them by id.
teams = Table(
    "teams",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("team_id", String(64), primary_key=True),
    Column("record", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Which staff cover which project: the dispatch decision reads one project's people.
staff_projects = Table(
    "staff_projects",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("staff_id", String(128), primary_key=True),
)

rosters = Table(
    "rosters",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("roster", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

dispatch_rules = Table(
    "dispatch_rules",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("category", String(200), primary_key=True),
    Column("rule", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Residents' data keys (shared.privacy.keyring), wrapped by the master key. A destroyed key
# keeps its row with no bytes: the generation is not given again, and the erasure shows.
resident_keys = Table(
    "resident_keys",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("wrapping_key_id", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("destroyed_at", UTCDateTime, nullable=True),
)

# The access log of residents' personal data (service_layer.access_log): each clear view,
# who saw whose data, which fields and why. Pruned after the retention period by `at`.
personal_data_access = Table(
    "personal_data_access",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("subject", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("resident", String(128), nullable=True),
    Column("work_order_id", String(64), nullable=True),
    Column("fields", String(200), nullable=False),
    Column("purpose", String(200), nullable=False),
)
Index("ix_personal_data_access_tenant", personal_data_access.c.tenant, personal_data_access.c.id)
Index(
    "ix_personal_data_access_resident",
    personal_data_access.c.tenant,
    personal_data_access.c.resident,
    personal_data_access.c.id,
)
Index(
    "ix_personal_data_access_subject",
    personal_data_access.c.tenant,
    personal_data_access.c.subject,
    personal_data_access.c.id,
)
Index("ix_personal_data_access_at", personal_data_access.c.at)
