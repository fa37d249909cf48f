"""Version 1 of the residents' events (住户): what happened to a resident's personal data.

They carry no personal data: a resident is named by their pseudonymous reference
(`rsd_...`, `shared.privacy.pseudonym`), never by name or phone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.events.base import EventData

ResidentRef = Annotated[str, Field(min_length=1, max_length=64)]


class ResidentErased(EventData):
    """A resident's personal data was erased (their data key destroyed): every sealed
    field of theirs is unreadable from now on, wherever it is copied. `work_orders` are
    the orders whose reporter they were; the orders themselves stay."""

    type_name = "resident.erased"

    resident: ResidentRef
    work_orders: tuple[Annotated[str, Field(min_length=1, max_length=128)], ...] = ()
    erased_by: Annotated[str, Field(min_length=1, max_length=128)]
    reason: Literal["request", "retention"]


RESIDENT_EVENTS: tuple[type[EventData], ...] = (ResidentErased,)
