"""teams as managed records, backfilled from the team names of staff and roster shifts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    teams = op.create_table(
        "teams",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "team_id"),
    )
    conn = op.get_bind()
    staff = sa.table(
        "staff",
        sa.column("tenant", sa.String),
        sa.column("staff_id", sa.String),
        sa.column("record", sa.JSON),
    )
    rosters = sa.table(
        "rosters",
        sa.column("tenant", sa.String),
        sa.column("project", sa.String),
        sa.column("roster", sa.JSON),
    )
    found: dict[tuple[str, str], dict[str, set[str]]] = {}
    for tenant, staff_id, record in conn.execute(
        sa.select(staff.c.tenant, staff.c.staff_id, staff.c.record)
    ):
        team = _team(found, tenant, record["team"])
        team["trades"].update(record.get("trades") or ())
        team["projects"].update(record.get("projects") or ())
        if record.get("role") == "supervisor":
            team["supervisors"].add(staff_id)
    for tenant, project, roster in conn.execute(
        sa.select(rosters.c.tenant, rosters.c.project, rosters.c.roster)
    ):
        for shift in roster.get("shifts") or ():
            _team(found, tenant, shift["team"])["projects"].add(project)
    now = datetime.now(UTC)
    rows = [
        {
            "tenant": tenant,
            "team_id": team_id,
            # The team's id is the only name the old records knew.
            "record": {"name": team_id, **{k: sorted(v) for k, v in team.items()}},
            "updated_at": now,
        }
        for (tenant, team_id), team in sorted(found.items())
    ]
    if rows:
        op.bulk_insert(teams, rows)


def _team(found: dict[tuple[str, str], dict[str, set[str]]], tenant: str, team_id: str) -> Any:
    return found.setdefault(
        (tenant, team_id), {"trades": set(), "projects": set(), "supervisors": set()}
    )


def downgrade() -> None:
    op.drop_table("teams")
