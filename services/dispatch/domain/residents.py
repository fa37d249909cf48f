"""Residents (住户) as customer service finds them: by the phone they called from before.

dispatch keeps no resident register: a resident is whoever reported work orders, with the
name, phone, building and unit each report gave. A phone number is looked up through a
keyed blind index, never in clear: the HMAC-SHA256 of the number in the canonical form of
`shared.phones.normalise_phone`, so "138 0000 0000", "+86 138-0000-0000" and
"13800000000" are the same resident's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.errors import InvalidInput
from shared.phones import normalise_phone


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
    resident: str | None = None
    """The reporter's pseudonymous reference (`rsd_...`); None for an order indexed
    before references were (until the index is rebuilt)."""
    sealed: Mapping[str, str] = field(default_factory=dict)
    """The order's sealed fields by name (`reporter.name`): `name` and `unit` hold masks
    until they are opened (`opened`)."""

    def opened(self, values: Mapping[str, str]) -> ResidentReport:
        """This report with the clear `reporter.name` and `location.unit` among `values`."""
        return replace(
            self,
            name=values.get("reporter.name", self.name),
            unit=values.get("location.unit", self.unit),
            sealed={},
        )


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
    reference: str | None = None
    """Their pseudonymous reference (`rsd_...`), as events and the access log name them."""


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
        reference = next((r.resident for r in theirs if r.resident), None)
        recent = tuple(theirs[:recent_each])
        residents.append(Resident(named, theirs[0].name, tuple(homes), recent, reference))
    return residents
