"""UTCDateTime writes the same SQLite text as SQLAlchemy's own DATETIME processor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from shared.sqltypes import UTCDateTime

SQLITE = sqlite.dialect()
ALCHEMY_TEXT = DateTime(timezone=True).dialect_impl(SQLITE).bind_processor(SQLITE)
OURS = UTCDateTime().bind_processor(SQLITE)

zones = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones
)


@given(instants)
def test_the_sqlite_text_is_sqlalchemys_of_the_utc_instant(value: datetime) -> None:
    assert ALCHEMY_TEXT is not None and OURS is not None
    assert OURS(value) == ALCHEMY_TEXT(value.astimezone(UTC).replace(tzinfo=None))


def test_none_stays_null_and_naive_datetimes_are_refused() -> None:
    assert OURS is not None
    assert OURS(None) is None
    with pytest.raises(ValueError, match="naive"):
        OURS(datetime(2026, 3, 1, 8, 0))


def test_postgresql_gets_the_aware_utc_datetime() -> None:
    # SQLAlchemy's asyncpg dialect has no annotated __init__.
    dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    process = UTCDateTime().bind_processor(dialect)
    shanghai = timezone(timedelta(hours=8))
    value = datetime(2026, 3, 1, 8, 0, tzinfo=shanghai)

    bound = process(value) if process is not None else value

    assert bound == value and bound.utcoffset() == timedelta(0)
