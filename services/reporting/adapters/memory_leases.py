"""The projector's lease in memory (`ports.Leases`), for tests of the service layer."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.reporting.domain.lease import Lease, claim


class InMemoryLeases:
    """Implements `ports.Leases`; `down` makes it fail as a database that does not answer."""

    def __init__(self) -> None:
        self.rows: dict[str, Lease] = {}
        self.down = False

    async def claim(self, name: str, holder: str, now: datetime, expiry: timedelta) -> Lease:
        """Renew or take the lease `name` for `holder` if it may; the lease as it now is."""
        self._answer()
        self.rows[name] = claim(self.rows.get(name), holder, now, expiry)
        return self.rows[name]

    async def release(self, name: str, holder: str, now: datetime) -> None:
        """End `holder`'s lease now, if it holds it."""
        self._answer()
        lease = self.rows.get(name)
        if lease is not None and lease.held_by(holder, now):
            self.rows[name] = Lease(holder, now)

    def _answer(self) -> None:
        if self.down:
            raise ConnectionError("the database does not answer")
