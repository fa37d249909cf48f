"""Work-order numbers (工单编号): the short number residents and staff read and say.

A work order's id is a UUID, which nobody can read out on the phone. Each order also
gets a number `<project code>-<YYYYMMDD>-<sequence>`, e.g. `SG-20261201-0042`: the
project's code, the day it was reported in the project's own time zone, and its place
among that project's reports of that day (four digits, more past 9999).

The store allocates the sequence from a counter row per (tenant, project, local day) in
the same transaction as the report's append, so two orders of a project never share a
number however many reports are committed together or by how many processes. A report
that is not committed takes no number; a sequence may still skip a value (gaps are
harmless), but it never repeats one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

CODE_PATTERN = r"^[A-Z][A-Z0-9]{0,7}$"
"""A project code as registered: 1-8 capital letters and digits, starting with a letter."""

NUMBER_PATTERN = r"^[A-Z][A-Z0-9]{0,7}-[0-9]{8}-[0-9]{4,9}$"
"""A work-order number as `order_number` writes it (what a lookup by number accepts)."""

_NUMBER = re.compile(NUMBER_PATTERN)
_MAX_CODE = 8
_FALLBACK_CODE = "WO"


@dataclass(frozen=True, slots=True)
class Numbering:
    """What the store needs to number a new work order: the project's code and the
    local day of the report (the counter the sequence comes from)."""

    code: str
    day: date

    def number(self, sequence: int) -> str:
        """The work-order number of the `sequence`-th report of the day."""
        return order_number(self.code, self.day, sequence)


def project_code(project: str, registered: str | None) -> str:
    """The code a project's numbers start with: the registered one, else derived from the
    project id, so that every project numbers its orders from day one: the initials of
    its words (`sunny-garden`: `SG`), or a one-word id capitalized (`demo`: `DEMO`), at
    most eight characters starting with a letter; `WO` when the id has no letter.

    A derived code may be shared by two projects (`sunny-garden`, `south-gate`); numbers
    are unique per project, and a lookup by number searches within a project scope.
    """
    if registered:
        return registered
    words = [w for w in re.split(r"[-_]+", project.upper()) if w]
    code = "".join(w[0] for w in words) if len(words) > 1 else "".join(words)
    code = code.lstrip("0123456789")
    return code[:_MAX_CODE] or _FALLBACK_CODE


def local_day(instant: datetime, time_zone: str) -> date:
    """The calendar day `instant` falls on in the project's time zone (not UTC: in
    Shanghai an order reported at 07:00 belongs to the same day as one at 09:00)."""
    return instant.astimezone(ZoneInfo(time_zone)).date()


def order_number(code: str, day: date, sequence: int) -> str:
    """`SG-20261201-0042`: code, local day, sequence (at least four digits)."""
    if sequence < 1:
        raise ValueError(f"a day's sequence starts at 1, not {sequence}")
    return f"{code}-{day:%Y%m%d}-{sequence:04d}"


def is_order_number(value: str) -> bool:
    """Whether `value` has the shape of a work-order number."""
    return _NUMBER.match(value) is not None
