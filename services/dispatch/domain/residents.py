"""Residents (住户) as customer service finds them: by the phone they called from before.

dispatch keeps no resident register: a resident is whoever reported work orders, with the
name, phone, building and unit each report gave. A phone number is looked up through a
keyed blind index, never in clear: the HMAC-SHA256 of the number in one canonical form,
so "138 0000 0000", "+86 138-0000-0000" and "13800000000" are the same resident's.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.errors import InvalidInput

CHINA = "86"
"""The country calling code whose numbers are kept in their national form."""

_SEPARATORS = str.maketrans("", "", " -.()/\t")
"""What people put between digits; full-width forms (（）－) become these under NFKC."""

_SHORTEST, _LONGEST = 5, 15
"""Digits of a service number (95598) up to the longest E.164 number."""


def normalise_phone(written: str) -> str:
    """The canonical form of a phone number as people write it; `InvalidInput` otherwise.

    Separators and full-width digits are dropped; a Chinese number written with its
    country code (+86, 0086, or 86 before a mobile number) is kept in its national form,
    a landline's trunk 0 included (+86 10 1234 5678 is 01012345678); any other country's
    number keeps its code after a `+`.
    """
    compact = unicodedata.normalize("NFKC", written).translate(_SEPARATORS)
    # No area code starts with 0, so a leading 00 is always the international prefix.
    prefix = "+" if compact.startswith("+") else "00" if compact.startswith("00") else ""
    international, digits = bool(prefix), compact[len(prefix) :]
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            f"{written!r} is not a phone number: use digits, with spaces, dashes or a "
            "leading + if you like",
            code="invalid_phone",
        )
    if international and not digits.startswith(CHINA):
        national = None
    elif international:
        national = digits[len(CHINA) :]
        if not _is_mobile(national):
            national = "0" + national.removeprefix("0")
    elif len(digits) == 13 and digits.startswith(CHINA + "1") and _is_mobile(digits[2:]):
        national = digits[2:]
    else:
        national = digits
    canonical = national if national is not None else "+" + digits
    if not _SHORTEST <= len(canonical.removeprefix("+")) <= _LONGEST:
        raise InvalidInput(
            f"{written!r} is not a phone number: it has {len(digits)} digits",
            code="invalid_phone",
        )
    return canonical


def _is_mobile(national: str) -> bool:
    return len(national) == 11 and national.startswith("1")


def phone_index(key: bytes, written: str | None) -> str | None:
    """The blind index of a phone number (hex HMAC-SHA256 of its canonical form under
    `key`); None for no number or text that is not one, which nobody can search for."""
    if not written:
        return None
    try:
        canonical = normalise_phone(written)
    except InvalidInput:
        return None
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ResidentReport:
    """One work order a resident reported, as the resident search shows it."""

    work_order_id: str
    project: str
    resident_id: str | None
    name: str
    building: str | None
    unit: str | None
    number: str | None
    status: str
    kind: str
    category: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class Home:
    """A building and unit a resident reported from (either may be unknown)."""

    project: str
    building: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class Resident:
    """A person who reported from the phone searched: their homes and latest orders."""

    resident_id: str | None
    name: str
    homes: tuple[Home, ...]
    recent: tuple[ResidentReport, ...]


def residents_among(reports: Iterable[ResidentReport], recent_each: int) -> list[Resident]:
    """The residents behind `reports` (newest first), the most recently heard from first.

    Reports with a `resident_id` (the resident's own login) belong to that resident; the
    others to whoever gave the same name, as customer service heard it. Each resident's
    homes (the buildings and units they reported from; a public area is none) are listed
    newest first, once each; `recent_each` of their orders are kept.
    """
    grouped: dict[tuple[str, str], list[ResidentReport]] = {}
    for report in sorted(reports, key=lambda r: (r.reported_at, r.work_order_id), reverse=True):
        key = ("id", report.resident_id) if report.resident_id else ("name", report.name.strip())
        grouped.setdefault(key, []).append(report)
    residents = []
    for theirs in grouped.values():
        homes = dict.fromkeys(
            Home(r.project, r.building, r.unit) for r in theirs if r.building or r.unit
        )
        named = next((r.resident_id for r in theirs if r.resident_id), None)
        residents.append(Resident(named, theirs[0].name, tuple(homes), tuple(theirs[:recent_each])))
    return residents
