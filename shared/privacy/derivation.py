"""Every privacy key from one master secret (主密钥), each for one job.

One secret to generate, store, back up and rotate instead of three: the blind index of
phone numbers, the residents' pseudonymous references and the wrapping of data keys each
get their own key, derived with HKDF-SHA256 under a distinct label, so no key serves two
purposes and none reveals another or the master secret (RFC 5869). The labels are part
of the stored data's meaning: changing one changes every value derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
SALT = b"workorders privacy"
"""A fixed salt: the master secret is already random (RFC 5869 section 3.1 allows it)."""

BLIND_INDEX = b"workorders/privacy/v1 blind index of phone numbers"
RESIDENT_REFERENCE = b"workorders/privacy/v1 pseudonymous resident reference"
KEY_WRAPPING = b"workorders/privacy/v1 data key wrapping"
WRAPPING_KEY_ID = b"workorders/privacy/v1 wrapping key id"
"""The labels (HKDF `info`): one per derived key, never reused for another purpose."""


def derive(master: bytes, label: bytes, length: int = KEY_BYTES) -> bytes:
    """The key for `label` under `master` (HKDF-SHA256); the same inputs, the same key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=SALT, info=label).derive(master)


@dataclass(frozen=True)
class PrivacyKeys:
    """The keys one master secret gives; `repr` shows the wrapping key's id only."""

    blind_index: bytes = field(repr=False)
    """Keys the HMAC of normalised phone numbers residents are searched by."""
    resident_reference: bytes = field(repr=False)
    """Keys the pseudonymous reference public events carry instead of a resident."""
    wrapping: bytes = field(repr=False)
    """Wraps each subject's data key (AES-256-GCM) in the key ring."""
    wrapping_key_id: str
    """Names `wrapping` in stored rows without revealing it, so a row says which master
    secret wrapped it and a rotated-out secret can still unwrap its rows until re-wrapped."""


def privacy_keys(master: bytes) -> PrivacyKeys:
    """The keys derived from the master secret `master`."""
    return PrivacyKeys(
        blind_index=derive(master, BLIND_INDEX),
        resident_reference=derive(master, RESIDENT_REFERENCE),
        wrapping=derive(master, KEY_WRAPPING),
        wrapping_key_id="local-" + derive(master, WRAPPING_KEY_ID, 8).hex(),
    )
