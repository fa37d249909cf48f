"""Every row a service's database holds, as text: what a test greps for values that must
not be stored (a resident's clear name, phone or unit)."""

from __future__ import annotations

from sqlalchemy import MetaData, select

from shared.database import create_engine


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
