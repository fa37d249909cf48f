"""`wo sla explain`: a work order's clock history as a readable timeline."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from typer.testing import CliRunner, Result

from services.dispatch.adapters.sla_scheduler import SlaScheduler
from shared.auth import Role
from tests.integration.dispatch.api_support import Api, running_api
from wo.cli import app


async def explain(*args: str) -> Result:
    # The command runs its own event loop, so it cannot run on the test's.
    return await asyncio.to_thread(CliRunner().invoke, app, ["sla", "explain", *args])


def scheduler_of(api: Api) -> SlaScheduler:
    dispatch = api.dispatch
    return SlaScheduler(dispatch.engine, dispatch.store, dispatch.sla_policies, api.clock)


async def test_explain_prints_the_start_warnings_breach_and_escalations(database_url: str) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        order = await api.report()
        await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
        api.clock.advance(timedelta(minutes=4, seconds=12))
        await scheduler_of(api).fire_due()
        await scheduler_of(api).fire_due()  # the ladder's step at the breach comes next
        await api.command(order["id"], "arrive", Role.TECHNICIAN, subject="tech-wang")

    result = await explain(order["id"], "--database-url", database_url)

    assert result.exit_code == 0, result.output
    out = result.stdout
    # NOW is 10:00 in Shanghai, the project's time zone.
    assert "2026-03-02 10:00:00  work order reported: repair, plumbing, normal" in out
    assert "arrival clock started, due 10:03:00 (3 min, 24×7)" in out
    assert "arrival: 50% warning" in out
    assert "arrival: 80% warning" in out
    assert "arrival BREACHED (due 10:03:00, detected 10:04:12)" in out
    assert "arrival: escalated level 2 → supervisor (breach)" in out
    assert "arrival met late" in out
    lines = out.splitlines()
    started = next(i for i, line in enumerate(lines) if "arrival clock started" in line)
    breached = next(i for i, line in enumerate(lines) if "arrival BREACHED" in line)
    assert started < breached
    assert "SLA clocks" in out  # the summary table


async def test_explain_of_an_unknown_work_order_fails_with_a_message(database_url: str) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False):
        pass
    missing = str(uuid.uuid4())

    result = await explain(missing, "--database-url", database_url)

    assert result.exit_code == 1
    assert f"work order {missing} not found" in result.stderr


async def test_explain_with_a_bad_database_url_fails_in_one_line() -> None:
    result = await explain(str(uuid.uuid4()), "--database-url", "nodb://x")

    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: invalid database URL")
    assert len(result.stderr.strip().splitlines()) == 1
