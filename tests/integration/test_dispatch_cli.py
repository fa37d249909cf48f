"""`wo dispatch rebuild-timers`: the timer table derived again from the event store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner, Result

from services.dispatch.adapters import tables as t
from services.dispatch.domain.residents import phone_index
from shared.auth import Role
from shared.database import create_engine
from shared.privacy.derivation import privacy_keys
from shared.settings import MIN_SECRET_BYTES
from tests.integration.dispatch.api_support import running_api
from wo.cli import app


async def rebuild(*args: str) -> Result:
    # The command runs its own event loop, so it cannot run on the test's.
    return await asyncio.to_thread(CliRunner().invoke, app, ["dispatch", "rebuild-timers", *args])


async def stored_timers(database_url: str) -> list[tuple[Any, ...]]:
    c = t.sla_timers.c
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(c.work_order_id, c.key, c.clock, c.fires_at, c.due_at, c.timer)
            return [
                tuple(row)
                for row in (await conn.execute(query.order_by(c.key, c.work_order_id))).all()
            ]
    finally:
        await engine.dispose()


async def test_rebuild_timers_restores_the_lost_table_and_says_what_it_did(
    database_url: str,
) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        first = await api.report()
        await api.report(kind="complaint")
        await api.command(first["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    before = await stored_timers(database_url)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(t.sla_timers.delete())
    await engine.dispose()

    result = await rebuild("--database-url", database_url)

    assert result.exit_code == 0, result.output
    assert await stored_timers(database_url) == before
    assert len(before) > 0
    assert (
        f"from the events of 2 work orders: {len(before)} timers "
        f"({len(before)} SLA clock timers, 0 offer expiries); the next fires at"
    ) in " ".join(result.stdout.split())


async def test_rebuild_timers_with_a_bad_database_url_fails_in_one_line() -> None:
    result = await rebuild("--database-url", "nodb://x")

    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: invalid database URL")
    assert len(result.stderr.strip().splitlines()) == 1


async def test_rebuild_residents_derives_the_index_again_and_needs_the_key_outside_development(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    master_key = "m" * MIN_SECRET_BYTES
    async with running_api(database_url, privacy_master_key=SecretStr(master_key)) as api:
        await api.report()
        await api.report(reporter={"name": "无电话"})
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(t.resident_reports.delete())
    await engine.dispose()
    rebuild_residents = ["dispatch", "rebuild-residents", "--database-url", database_url]

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("PRIVACY_MASTER_KEY", raising=False)
    refused = await asyncio.to_thread(CliRunner().invoke, app, rebuild_residents)
    # The phones are sealed under keys that only dispatch's master key unwraps.
    monkeypatch.setenv("PRIVACY_MASTER_KEY", "o" * MIN_SECRET_BYTES)
    other_key = await asyncio.to_thread(CliRunner().invoke, app, rebuild_residents)
    monkeypatch.setenv("PRIVACY_MASTER_KEY", master_key)
    result = await asyncio.to_thread(CliRunner().invoke, app, rebuild_residents)

    assert refused.exit_code == 1
    assert "refuses the development PRIVACY_MASTER_KEY" in refused.stderr
    assert other_key.exit_code == 1, other_key.output
    assert "cannot open the residents' sealed phones" in other_key.stderr
    assert len(other_key.stderr.strip().splitlines()) <= 3
    assert result.exit_code == 0, result.output
    assert "from 2 reported work orders" in result.stdout
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.resident_reports.c.phone_index))).scalars().all()
    await engine.dispose()
    assert len(rows) == 2 and sum(row is None for row in rows) == 1
    # Keyed from the master key: one secret, no key of the index's own.
    blind_index_key = privacy_keys(master_key.encode()).blind_index
    assert phone_index(blind_index_key, "13800000000") in rows


async def test_rebuild_residents_of_a_local_stack_uses_the_key_wo_up_gave_its_dispatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_key = "k" * MIN_SECRET_BYTES
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}"
    async with running_api(database_url, privacy_master_key=SecretStr(stack_key)) as api:
        await api.report()
    (tmp_path / "privacy-master.key").write_text(stack_key + "\n", encoding="utf-8")
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.delenv("PRIVACY_MASTER_KEY", raising=False)

    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["dispatch", "rebuild-residents", "--database-url", database_url]
    )

    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.resident_reports.c.phone_index))).scalars().all()
    await engine.dispose()
    assert rows == [phone_index(privacy_keys(stack_key.encode()).blind_index, "13800000000")]
