"""Every row a service's database holds, as text: what a test greps for values that must
not be stored (a resident's clear name, phone or unit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine

T = TypeVar("T")


async def rows_as_text(database_url: str, metadata: MetaData) -> dict[str, list[str]]:
    """Each table of `metadata` by name, its rows as text (bytes decoded as UTF-8)."""
    engine = create_engine(database_url)
    found: dict[str, list[str]] = {}
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = (await conn.execute(select(table))).all()
                found[table.name] = [
                    " ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row
                    )
                    for row in rows
                ]
    finally:
        await engine.dispose()
    return found


def holding(found: dict[str, list[str]], values: tuple[str, ...]) -> dict[str, list[str]]:
    """The tables among `found` whose rows hold any of `values`, with the values found."""
    return {
        name: hits
        for name, texts in found.items()
        if (hits := [v for text in texts for v in values if v in text])
    }


async def on_database(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """`work` done with an engine of `url`, disposed of afterwards."""
    engine = create_engine(url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()
