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
