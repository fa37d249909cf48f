"""The projector's lease on SQL, and the check every projector transaction makes of it.

Taking or renewing the lease and applying a batch both lock the lease's row (PostgreSQL:
`FOR UPDATE`; SQLite: the one writer's transaction), so a standby taking an expired
lease waits for a batch its old holder is committing, and a batch that finds the lease
gone commits nothing: two processes never write the read model at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.domain.lease import Lease, claim
from shared.consumer import HandedOver
from shared.database import Database

_NEVER_HELD = datetime(1970, 1, 1, tzinfo=UTC)


class LeaseLost(HandedOver):
    """The projector's lease is not this process's any more: its batch is not applied."""


class SqlLeases:
    """Implements `ports.Leases` on reporting's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(self, name: str, holder: str, now: datetime, expiry: timedelta) -> Lease:
        """Renew or take the lease `name` for `holder` if it may; the lease as it now is."""
        return await self._database.run(_claim, name, holder, now, expiry, write=True)

    async def release(self, name: str, holder: str, now: datetime) -> None:
        """Let the lease go now if `holder` holds it, so a standby takes it at once."""
        await self._database.run(_release, name, holder, now, write=True)


@dataclass(frozen=True)
class LeaseFence:
    """What a projector transaction checks first: `holder` still holds the lease `name`."""

    name: str
    holder: str

    def check(self, conn: Connection, now: datetime) -> None:
        """Lock the lease's row if `holder` holds it at `now`; raise `LeaseLost` if not."""
        leases = t.leases
        # A write that changes nothing: it locks the row until the transaction ends.
        held = conn.execute(
            update(leases)
            .where(
                leases.c.name == self.name,
                leases.c.holder == self.holder,
                leases.c.expires_at > now,
            )
            .values(holder=leases.c.holder)
        )
        if held.rowcount == 0:
            raise LeaseLost(f"{self.holder} no longer holds the lease {self.name}")


def _claim(conn: Connection, name: str, holder: str, now: datetime, expiry: timedelta) -> Lease:
    leases = t.leases
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(leases)
        .values(name=name, holder="", expires_at=_NEVER_HELD)
        .on_conflict_do_nothing(index_elements=[leases.c.name])
    )
    query = select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    current = Lease(row.holder, row.expires_at)
    after = claim(current, holder, now, expiry)
    if after != current:
        conn.execute(
            update(leases)
            .where(leases.c.name == name)
            .values(holder=after.holder, expires_at=after.expires_at)
        )
    return after


def _release(conn: Connection, name: str, holder: str, now: datetime) -> None:
    leases = t.leases
    conn.execute(
        update(leases)
        .where(leases.c.name == name, leases.c.holder == holder, leases.c.expires_at > now)
        .values(expires_at=now)
    )
