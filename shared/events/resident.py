"""Version 1 of the resident events (住户事件): erasure and correction of a resident's data.

A resident is named by their pseudonymous reference (`rsd_...`), never by who they are.
The events go on `events.<tenant>.<project>.resident.<event>`, on a stream of their own
per resident (the envelope's subject is `resident:<reference>`); the project is that of
the resident's latest work order, and an erasure lists the orders and the projects it
covers, so a consumer of some projects finds its own in `projects`. Listen to
`events.<tenant>.*.resident.>` to hear every erasure and correction of a tenant.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from shared.events.base import EventData

PersonId = Annotated[str, Field(min_length=1, max_length=128)]
ResidentReference = Annotated[str, Field(pattern=r"^rsd_[a-z2-7]{24}$")]
"""`rsd_` and 24 lower-case base32 characters (`shared.privacy.pseudonym`)."""
Token = Annotated[str, Field(max_length=4096)]


def _pseudonym() -> dict[str, Any]:
    return {
        "description": "The resident's pseudonymous reference: stable per tenant and "
        "resident, reveals nothing about who it is.",
        "json_schema_extra": {"x-personal-data": "pseudonym"},
    }


class ErasureReason(StrEnum):
    """Why a resident's data was erased."""

    REQUEST = "request"
    """The resident asked (PIPL Art. 47)."""
    RETENTION = "retention"
    """Their orders were closed longer ago than the retention period."""


class ResidentErased(EventData):
    """A resident's personal data was erased: their data keys were destroyed, so every
    field sealed for them (in the event store, on the stream, in backups) is unreadable,
    and they were taken out of the residents' index. The work orders and their histories
    stay as they were. The event itself holds no personal data."""

    type_name = "resident.erased"

    resident: ResidentReference = Field(**_pseudonym())
    work_orders: tuple[Annotated[str, Field(min_length=1, max_length=128)], ...] = Field(
        description="The ids of the orders whose reporter this resident was, found in the "
        "residents' index at the time of the erasure (empty when none was left)."
    )
    projects: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(
        default=(),
        description="The projects of those orders, each once, sorted.",
    )
    erased_by: PersonId = Field(
        description="Who erased: the privacy officer's subject, or `retention` for the "
        "automatic erasure after the retention period."
    )
    reason: ErasureReason
    keys_destroyed: Annotated[int, Field(ge=0)] = Field(
        description="How many generations of the resident's data key were destroyed."
    )
    case: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/#-]{1,64}$")] | None = Field(
        default=None,
        description="The privacy officer's reference of the request (a ticket id): letters, "
        "digits and `_.:/#-` only, so no name or address fits in it.",
    )


class ResidentCorrected(EventData):
    """A resident's name or phone was corrected (PIPL Art. 46): later messages and contact
    lookups use the corrected values. Masks in clear, the values sealed under the
    resident's data key."""

    type_name = "resident.corrected"

    resident: ResidentReference = Field(**_pseudonym())
    fields: tuple[Annotated[str, Field(pattern=r"^reporter\.(name|phone)$")], ...] = Field(
        description="Which fields were corrected: `reporter.name`, `reporter.phone`."
    )
    name: Annotated[str, Field(max_length=200)] | None = Field(
        default=None,
        description="The corrected name, masked (`王*`); absent when not corrected.",
        json_schema_extra={"x-personal-data": "masked"},
    )
    phone: Annotated[str, Field(max_length=32)] | None = Field(
        default=None,
        description="The corrected phone, masked (`138****0000`); absent when not corrected.",
        json_schema_extra={"x-personal-data": "masked"},
    )
    sealed: dict[str, Token] = Field(
        description="The corrected `name` and `phone` in clear, each a token sealed under "
        "the resident's data key; unreadable once the resident is erased.",
        json_schema_extra={"x-personal-data": "sealed"},
    )
    corrected_by: PersonId = Field(description="Who corrected: their token's subject.")


RESIDENT_EVENTS: tuple[type[EventData], ...] = (ResidentErased, ResidentCorrected)
