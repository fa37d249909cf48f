"""One projector among several reporting processes: the lease holder projects, the others
stand by (serving the API) and take over within the lease's expiry when it dies.

Why a lease in reporting's database and not NATS's pinned consumers (priority groups,
nats-server 2.11): the NATS client used here (nats-py) has no priority groups in its
pull API; a row works on SQLite and PostgreSQL alike, and the projector's transactions
check it, so a holder that lost the lease (paused past its expiry) commits nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from prometheus_client import Gauge

from services.reporting.domain.lease import Lease, check_timing
from services.reporting.service_layer.ports import Leases
from shared.clock import Clock
from shared.logging import get_logger
from shared.tasks import woken

log = get_logger(__name__)

ACTIVE = Gauge(
    "reporting_projector_active",
    "1 while this reporting process holds the projector's lease and projects, 0 on standby",
)

Projecting = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""The projector's loop: runs until the event is set (or it hands over by itself)."""


class ProjectorLease:
    """Holds, renews or waits for the projector's lease, and projects while holding it."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        holder: str,
        clock: Clock,
        *,
        renew_seconds: float,
        expiry_seconds: float,
    ) -> None:
        check_timing(renew_seconds, expiry_seconds)
        self._leases = leases
        self.name = name
        self.holder = holder
        self._clock = clock
        self._renew_seconds = renew_seconds
        self._expiry = timedelta(seconds=expiry_seconds)
        self._lease: Lease | None = None
        self._was_active = False
        ACTIVE.set(0)

    @property
    def active(self) -> bool:
        """Whether this process holds the lease now (as far as its last renewal knows)."""
        return self._lease is not None and self._lease.held_by(self.holder, self._clock.now())

    async def renew(self) -> bool:
        """Ask for the lease once (renew it, or take it if it expired); whether this process
        holds it. A database that does not answer leaves the lease as last known: held
        until it expires, and then given up here too."""
        now = self._clock.now()
        try:
            self._lease = await self._leases.claim(self.name, self.holder, now, self._expiry)
        except Exception as exc:
            log.warning("reporting.lease_not_renewed", lease=self.name, error=repr(exc))
        active = self.active
        if active != self._was_active:
            self._was_active = active
            ACTIVE.set(1 if active else 0)
            log.info(
                "reporting.projector_active" if active else "reporting.projector_standby",
                lease=self.name,
                holder=self.holder,
            )
        return active

    async def run(self, stop: asyncio.Event, project: Projecting) -> None:
        """Until `stop`: project while holding the lease, otherwise wait for it."""
        while not stop.is_set():
            if await self.renew():
                await self._project_while_held(stop, project)
            else:
                await _pause(stop, self._renew_seconds)

    async def release(self) -> None:
        """Let the lease go (a clean stop), so a standby takes it at once."""
        if self.active:
            await self._leases.release(self.name, self.holder, self._clock.now())
            self._lease = None
            self._was_active = False
            ACTIVE.set(0)

    async def _project_while_held(self, stop: asyncio.Event, project: Projecting) -> None:
        term = asyncio.Event()
        projecting = asyncio.create_task(project(term))
        try:
            while not stop.is_set() and not projecting.done():
                await asyncio.wait({projecting}, timeout=self._renew_seconds)
                if not await self.renew():
                    break
        finally:
            # Its current batch ends first (and commits only if the lease is still ours).
            term.set()
            await projecting


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    await woken(stop, seconds)
