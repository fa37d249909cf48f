"""Constrained types of every value the services read from outside (bodies, queries, paths,
headers), so that odd input is a 422 at the edge and never an error deeper down.

Integers are bounded to what a signed 64-bit column holds; instants must carry a zone and
stay inside the years the services handle, so converting them to UTC or to a project's
local time cannot overflow; text refuses control characters (free text keeps newlines
and tabs) and lone surrogates, which no database column can store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

MAX_INT64 = 2**63 - 1
"""The largest value of a signed 64-bit integer column (BIGINT)."""

Count = Annotated[int, Field(ge=0, le=MAX_INT64)]
"""A number of things (households, an offset): 0 to the largest BIGINT."""

Position = Annotated[int, Field(ge=0, le=MAX_INT64)]
"""A position in a sequence of rows (`after`: only rows with a larger id)."""

RowId = Annotated[int, Field(ge=1, le=MAX_INT64)]
"""The id of a stored row (a dead letter, an inbox message, a version)."""

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A calendar date the services can place in any time zone and bucket by month."""

_FIRST_INSTANT = datetime(FIRST_DAY.year, 1, 2, tzinfo=UTC)
_LAST_INSTANT = datetime(LAST_DAY.year, 12, 30, tzinfo=UTC)


def _within_years(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None
    if not _FIRST_INSTANT <= utc <= _LAST_INSTANT:
        raise ValueError(f"the time must fall between {FIRST_DAY} and {LAST_DAY}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_within_years)]
"""A moment with its zone offset (e.g. `2026-03-02T10:00:00+08:00`), 1970 to 2999."""


def check_instant(value: datetime) -> datetime:
    """`Instant`'s rule for a time read from inside another value (a cursor): ValueError
    for a time without a zone or out of range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the time has no zone offset")
    return _within_years(value)


ONE_LINE = Field(pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")
"""The rule of one line of text: no control characters at all."""

WRITTEN = Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")
"""The rule of text a person writes: newlines (LF, CR) and tabs, no other control characters."""

Line = Annotated[str, ONE_LINE]
"""Text of one line (a name, an id, a filter). Add `ONE_LINE` to a published text type to
get its input form: `Annotated[ShortText, ONE_LINE]`."""

FreeText = Annotated[str, WRITTEN]
"""Text a person writes (a description, a reason, a note)."""

Key = Annotated[str, Field(min_length=1, max_length=128), ONE_LINE]
"""An id or name a client passes in a path or query (a work order, a delivery, a KPI)."""

DIGITS = r"^[0-9]{1,19}$"
"""A bounded decimal number in a header (`If-Match`, `Last-Event-ID`)."""


def parse_int64(text: str) -> int | None:
    """The non-negative 64-bit integer written in ASCII `text`, or None if it is not one."""
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_INT64 else None
