"""A resident's pseudonymous reference (住户假名): what public events carry instead of a name.

`rsd_` and 24 base32 characters: the first 120 bits of HMAC-SHA256 over (tenant,
resident) under a key derived from the master secret. Keyed, because the resident is
identified by a phone number and there are only about 10^9 mainland mobile numbers: an
unkeyed hash would be reversed by hashing them all in minutes. Stable, so every event of
one resident carries the same reference and integrators can group by it without learning
who it is. 120 bits keep collisions out of reach for any number of residents (birthday
bound 2^60); base32 in lower case reads and copies without ambiguity of case and has no
padding at that length; the prefix says what the value is wherever it turns up. Per
tenant, so two property companies cannot join their residents through it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.errors import InvalidInput
from shared.phones import normalise_phone
from shared.privacy.framing import framed

PREFIX = "rsd_"
REFERENCE_BYTES = 15
"""120 bits: 24 base32 characters, no padding."""


def resident_reference(key: bytes, tenant: str, resident: str) -> str:
    """The stable, non-reversible reference of `resident` (their canonical phone number)
    in `tenant`, under the pseudonym key (`PrivacyKeys.resident_reference`)."""
    digest = hmac.new(key, framed(tenant, resident), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest[:REFERENCE_BYTES]).decode().lower()


def is_resident_reference(value: str) -> bool:
    """Whether `value` has the form of a resident reference (says nothing of whose)."""
    body = value.removeprefix(PREFIX)
    return (
        value.startswith(PREFIX)
        and len(body) == REFERENCE_BYTES * 8 // 5
        and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in body)
    )


def reporter_identity(phone: str | None, resident_id: str | None, work_order_id: str) -> str:
    """What a work order's reporter is known by, for their reference: the canonical phone
    when they gave one (a resident is the same whether they call or use the app), else
    their app login, else the order itself (a walk-in who gave a name only)."""
    if phone:
        try:
            return normalise_phone(phone)
        except InvalidInput:
            pass  # no number a resident could be found by: the next identity names them
    if resident_id:
        return f"login:{resident_id}"
    return f"order:{work_order_id}"


def reporter_reference(
    key: bytes, tenant: str, *, phone: str | None, resident_id: str | None, work_order_id: str
) -> str:
    """The reference of a work order's reporter (`reporter_identity`) in `tenant`."""
    return resident_reference(key, tenant, reporter_identity(phone, resident_id, work_order_id))
