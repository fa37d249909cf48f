"""`wo reporting mask-personal-data`: the events reporting keeps raw (waiting for their
turn, dead letters) from before reports were sealed lose their clear name, phone, unit
and detail, on SQLite and PostgreSQL; a second run changes nothing. The read model
keeps no resident's data, so that is every clear copy reporting holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert
from typer.testing import CliRunner

from services.reporting.adapters import tables as t
from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.stored_before_masking import Masked, mask_stored_personal_data
from services.reporting.entrypoints.cli import reporting_app
from shared.database import create_engine
from tests.stored_rows import holding, on_database, rows_as_text

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SEEDED = ("欧阳娜娜", "13912345678", "2345678", "7-2304", "2号卫生间")
REPORT = {
    "kind": "repair",
    "location": {"building": "b1", "unit": "7-2304", "detail": "2号卫生间"},
    "reporter": {"name": "欧阳娜娜", "phone": "13912345678", "resident_id": None},
    "description": "漏水",
}


async def _old_rows(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    waiting = {
        "type_name": "workorder.reported",
        "order_id": "wo-a",
        "tenant": "acme",
        "project": "sunny",
        "sequence": 1,
        "time": T0.isoformat(),
        "data": REPORT,
    }
    envelope = {"id": "e-1", "type": "workorder.reported.v1", "subject": "wo-a", "data": REPORT}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(t.pending),
                [
                    {"generation": 1, "stream_id": "wo-a", "sequence": 1,
                     "event": orjson.dumps(waiting).decode()},
                    {"generation": 1, "stream_id": "wo-b", "sequence": 3, "event": None},
                ],
            )  # fmt: skip
            await conn.execute(
                insert(t.dead_letters),
                {
                    "consumer": "reporting",
                    "letter_key": "event:e-1",
                    "tenant": "acme",
                    "project": "sunny",
                    "subject": "events.acme.sunny.workorder.reported",
                    "stream_sequence": 7,
                    "event_id": "e-1",
                    "stream_id": "wo-a",
                    "sequence": 1,
                    "error": "boom",
                    "num_delivered": 3,
                    "data": orjson.dumps(envelope),
                    "recorded_at": T0,
                    "skipped": False,
                },
            )
    finally:
        await engine.dispose()


def _clear(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return holding(found, SEEDED)


async def _mask(url: str, **kw: Any) -> Masked:
    return await on_database(url, lambda e: mask_stored_personal_data(e, batch_size=1, **kw))


async def test_reportings_raw_events_are_masked_once(database_url: str) -> None:
    await _old_rows(database_url)
    before = await rows_as_text(database_url, t.metadata)
    assert set(_clear(before)) == {"rp_pending", "rp_dead_letters"}

    assert await _mask(database_url, dry_run=True) == Masked(1, 1)
    assert await rows_as_text(database_url, t.metadata) == before
    assert await _mask(database_url) == Masked(1, 1)

    after = await rows_as_text(database_url, t.metadata)
    assert _clear(after) == {}
    assert any("欧阳**" in text and "139****5678" in text for text in after["rp_pending"])
    assert await _mask(database_url) == Masked()
    assert await rows_as_text(database_url, t.metadata) == after


def test_the_command_says_what_it_masked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    asyncio.run(_old_rows(url))

    result = CliRunner().invoke(reporting_app, ["mask-personal-data", "--database-url", url])

    assert result.exit_code == 0, result.output
    assert "Masked 1 waiting events and 1 dead letters." in result.output
