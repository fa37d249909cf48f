"""One reporting process projects, the others stand by and take over once its lease expires."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.reporting.adapters.memory_leases import InMemoryLeases
from services.reporting.domain.lease import Lease, check_timing, claim
from services.reporting.service_layer.standby import ProjectorLease
from services.reporting.settings import ReportingSettings
from shared.clock import ManualClock
from shared.http.serve import load_settings

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EXPIRY = timedelta(seconds=10)


def test_a_free_lease_is_taken() -> None:
    assert claim(None, "a", T0, EXPIRY) == Lease("a", T0 + EXPIRY)


def test_the_holder_renews_its_lease() -> None:
    held = Lease("a", T0 + EXPIRY)
    assert claim(held, "a", T0 + timedelta(seconds=2), EXPIRY) == Lease(
        "a", T0 + timedelta(seconds=12)
    )


def test_a_lease_held_by_another_is_left_alone_until_it_expires() -> None:
    held = Lease("a", T0 + EXPIRY)
    assert claim(held, "b", T0 + timedelta(seconds=9), EXPIRY) == held
    assert claim(held, "b", T0 + EXPIRY, EXPIRY) == Lease("b", T0 + 2 * EXPIRY)


def test_a_lease_is_held_until_its_expiry_not_at_it() -> None:
    held = Lease("a", T0 + EXPIRY)
    assert held.held_by("a", T0 + timedelta(seconds=9))
    assert not held.held_by("a", T0 + EXPIRY)
    assert not held.held_by("b", T0)


def lease_of(holder: str, leases: InMemoryLeases, clock: ManualClock) -> ProjectorLease:
    return ProjectorLease(
        leases, "reporting", holder, clock, renew_seconds=2.0, expiry_seconds=10.0
    )


async def test_the_standby_takes_over_once_the_holders_lease_expires() -> None:
    clock, leases = ManualClock(T0), InMemoryLeases()
    active, standby = lease_of("a", leases, clock), lease_of("b", leases, clock)

    assert await active.renew()
    assert not await standby.renew()
    # The holder renews every 2 s: the standby keeps waiting.
    for _ in range(10):
        clock.advance(timedelta(seconds=2))
        assert await active.renew()
        assert not await standby.renew()

    # The holder dies: its last lease runs 10 s from its last renewal.
    clock.advance(timedelta(seconds=8))
    assert not await standby.renew()
    clock.advance(timedelta(seconds=2))
    assert await standby.renew()
    # Back from a pause past its expiry, the old holder finds itself on standby.
    assert not await active.renew()
    assert not active.active


async def test_a_holder_that_cannot_renew_stands_down_when_its_lease_expires() -> None:
    clock, leases = ManualClock(T0), InMemoryLeases()
    holder = lease_of("a", leases, clock)
    assert await holder.renew()

    leases.down = True
    clock.advance(timedelta(seconds=9))
    assert await holder.renew()  # still its own, as far as it last knew
    clock.advance(timedelta(seconds=1))
    assert not await holder.renew()


async def test_a_released_lease_is_taken_at_once() -> None:
    clock, leases = ManualClock(T0), InMemoryLeases()
    first, second = lease_of("a", leases, clock), lease_of("b", leases, clock)
    assert await first.renew()

    await first.release()

    assert not first.active
    assert await second.renew()


async def test_only_the_holder_projects_and_it_stops_when_the_lease_is_taken() -> None:
    clock, leases = ManualClock(T0), InMemoryLeases()
    holder = ProjectorLease(leases, "reporting", "a", clock, renew_seconds=0.01, expiry_seconds=10)
    projecting = asyncio.Event()
    stopped = asyncio.Event()

    async def project(term: asyncio.Event) -> None:
        projecting.set()
        await term.wait()
        stopped.set()

    stop = asyncio.Event()
    running = asyncio.create_task(holder.run(stop, project))
    await projecting.wait()
    # Another process took the lease while this one was paused past its expiry.
    clock.advance(timedelta(seconds=11))
    await lease_of("b", leases, clock).renew()
    await stopped.wait()
    assert not holder.active
    stop.set()
    await running


@pytest.mark.parametrize(("renew", "expiry"), [(0.0, 10.0), (2.0, 3.0)])
def test_a_renewal_that_would_not_keep_the_lease_is_refused(renew: float, expiry: float) -> None:
    with pytest.raises(ValueError, match="renew interval"):
        check_timing(renew, expiry)


def test_reporting_refuses_to_start_with_such_a_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("PROJECTOR_LEASE_RENEW_SECONDS", "5")
    monkeypatch.setenv("PROJECTOR_LEASE_EXPIRY_SECONDS", "6")
    with pytest.raises(SystemExit, match="PROJECTOR_LEASE_EXPIRY_SECONDS"):
        load_settings("reporting", ReportingSettings)
