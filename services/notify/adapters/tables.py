"""notify's tables: deliveries, the inbox, dead letters, its outbox and the facts it folds."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from shared.published_counts import published_counts_table
from shared.sqltypes import BigIntPK, UTCDateTime

metadata = MetaData()

work_orders = Table(
    "notify_work_orders",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("facts", JSON, nullable=False),
)
"""What notify folded of each work order, with the last `sequence` applied."""

projects = Table(
    "notify_projects",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("project", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dedup_key", String(400), nullable=False, unique=True),
    Column("event_id", String(36), nullable=True),
    Column("event_type", String(100), nullable=False),
    Column("work_order_id", String(128), nullable=True),
    Column("correlation_id", String(128), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(500), nullable=False),
    Column("template", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("alert", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    # Why a `skipped` delivery was (`resident_erased`, ...); NULL otherwise.
    Column("status_reason", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("window_start", UTCDateTime, nullable=True),
    Column("digest_id", String(36), nullable=True),
    Column("item_count", Integer, nullable=False, default=0),
    # How many notification.* events this delivery published: their `sequence`.
    Column("event_count", Integer, nullable=False, default=0),
    # Which claim holds the row while it is being sent (`SqlSendLog.claim_due`): only
    # that claim may record the send's outcome.
    Column("lease_token", String(36), nullable=True),
    Index("ix_deliveries_due", "status", "due_at"),
    Index("ix_deliveries_window", "recipient", "channel", "window_start"),
    Index("ix_deliveries_work_order", "work_order_id"),
)

inbox = Table(
    "inbox_messages",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("person", String(200), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("work_order_id", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    Index("ix_inbox_person", "tenant", "person", "id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    # `event`: the consumer gave up on a message; `delivery`: a channel gave up.
    Column("kind", String(16), nullable=False),
    # `event:<id>`, `body:<sha-256>` (no envelope) or `delivery:<id>`: never the stream
    # sequence, which starts again after a stream loss.
    Column("letter_key", String(80), nullable=False),
    Column("tenant", String(64), nullable=True),
    Column("project", String(64), nullable=True),
    Column("subject", String(300), nullable=True),
    Column("stream_sequence", Integer, nullable=True),
    Column("event_id", String(36), nullable=True),
    Column("delivery_id", String(36), nullable=True),
    Column("data", LargeBinary, nullable=True),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retried_at", UTCDateTime, nullable=True),
    Index("ux_dead_letters_key", "letter_key", unique=True),
)

outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("subject", String(300), nullable=False),
    Column("msg_id", String(36), nullable=False, unique=True),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Index("ix_notify_outbox_pending", "published_at", "id"),
)

outbox_published = published_counts_table(metadata, "notify_outbox_published")
"""The outbox's rows published, counted per day as they are marked (the stream check)."""

tenant_configs = Table(
    "notify_tenant_configs",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Each tenant's contacts, roles, routes and policies (a `TenantConfig` as JSON), edited
through the API; the row `*` holds the configuration of tenants without a row of their own
and the per-channel retry policies."""

tracking = Table(
    "notify_tracking",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""How far each consumer has recorded the stream, moved in the transaction of its batch.
Whether an event applied is still decided per work order (`notify_work_orders.version`)."""

dev_outbox = Table(
    "notify_dev_outbox",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("project", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(300), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("address", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("work_order_id", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_dev_outbox_order", "tenant", "work_order_id", "id"),
    Index("ix_dev_outbox_address", "tenant", "address", "id"),
)
"""Development only: what SMS and e-mail would have sent where no provider is configured
(`ENVIRONMENT=development`), so a local stack shows what residents received."""
