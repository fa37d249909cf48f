"""A resident's record: the erasures and corrections of their data, folded from their stream."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from shared.events.base import EventData
from shared.events.resident import ErasureReason, ResidentCorrected, ResidentErased


def resident_stream_id(reference: str) -> str:
    """The event stream of a resident's erasures and corrections. References are keyed
    per tenant (120 bits), so the reference alone names the stream."""
    return f"resident:{reference}"


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    """What a resident's stream says: their latest erasure and latest correction."""

    version: int = 0
    erased: ResidentErased | None = None
    """The latest erasure, if any."""
    corrected: ResidentCorrected | None = None
    """The latest correction made since the latest erasure (an erasure voids the ones
    before: their tokens were sealed under a destroyed key)."""


def fold_record(events: Iterable[EventData]) -> ResidentRecord:
    """The record after `events` (the resident's stream, in order)."""
    record = ResidentRecord()
    for event in events:
        record = replace(record, version=record.version + 1)
        if isinstance(event, ResidentErased):
            record = replace(record, erased=event, corrected=None)
        elif isinstance(event, ResidentCorrected):
            record = replace(record, corrected=event)
    return record


def is_erased(record: ResidentRecord, order_ids: Iterable[str]) -> bool:
    """Whether the resident is erased with nothing of theirs since: their latest erasure
    covered every order of theirs still indexed (a rebuilt index lists erased orders
    again, without anything readable in them)."""
    erased = record.erased
    return erased is not None and set(order_ids) <= set(erased.work_orders)


def erasure(
    record: ResidentRecord,
    resident: str,
    orders: tuple[tuple[str, str], ...],
    live_keys: int,
    by: str,
    reason: ErasureReason,
    case: str | None = None,
) -> ResidentErased | None:
    """The erasure to record now, or None when it is the replay of the last one.

    `orders` are the resident's orders still in the residents' index (id, project),
    newest first, and `live_keys`
    how many of their keys were destroyed now. An erasure that found no live key and no
    order the last erasure did not cover is that erasure again: erasing twice answers the
    first outcome and records nothing more (and an erasure interrupted before the index
    was cleared is finished, not recorded twice). A resident who reported again after an
    erasure has a new key and new orders: erasing them is new.
    """
    if live_keys == 0 and is_erased(record, (order for order, _ in orders)):
        return None
    return ResidentErased(
        resident=resident,
        work_orders=tuple(order for order, _ in orders),
        projects=tuple(sorted({project for _, project in orders})),
        erased_by=by,
        reason=reason,
        keys_destroyed=live_keys,
        case=case,
    )
