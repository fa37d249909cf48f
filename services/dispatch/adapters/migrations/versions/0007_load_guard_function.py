"""load guard on PostgreSQL: lock the people and read their open orders in one round trip

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

The load check of acceptances took two statements inside the group commit's transaction:
the advisory locks, then the read of the people's open orders. Under load each round trip
waits its turn on a busy event loop, and the group commit holds every append behind it.
A VOLATILE PL/pgSQL function does both in one call: each of its queries takes a fresh
snapshot (in READ COMMITTED), so the read still sees every commit made before the locks
were granted. SQLite has no advisory locks and needs none (one writer); nothing changes
there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Output columns are prefixed: PL/pgSQL would take a bare `tenant` for the output
# parameter and call the table's column ambiguous.
CREATE = """
CREATE FUNCTION dispatch_lock_and_read_loads(
    keys bigint[], tenants text[], people text[], statuses text[]
) RETURNS TABLE (o_tenant text, o_assignee text, o_id text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- In the order given (sorted by the caller), so two transactions cannot deadlock.
    PERFORM pg_advisory_xact_lock(u.k) FROM unnest(keys) WITH ORDINALITY AS u(k, n)
        ORDER BY u.n;
    RETURN QUERY
        SELECT w.tenant::text, w.assignee::text, w.id::text
        FROM work_orders AS w
        JOIN unnest(tenants, people) AS p(tenant, person)
            ON w.tenant = p.tenant AND w.assignee = p.person
        WHERE w.status = ANY(statuses);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION dispatch_lock_and_read_loads(bigint[], text[], text[], text[])")
