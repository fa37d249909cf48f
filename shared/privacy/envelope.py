"""One personal field sealed under its subject's data key, as a compact text token.

`pd1.<generation>.<base64url(nonce ‖ ciphertext ‖ tag)>`: the format's version, the
generation of the subject's key that sealed it, then AES-256-GCM's output. A token fits
a JSON string field of an event as it is.

AES-256-GCM rather than ChaCha20-Poly1305: servers this runs on have AES instructions,
where GCM is the faster of the two, and it is the AEAD auditors and national-standard
reviews expect to see. Its weakness, nonce reuse under one key, is out of reach here: a
data key seals one resident's few fields, so random 96-bit nonces never come near the
2^32 messages per key NIST allows.

The associated data binds each token to (tenant, subject, field, generation): a token
copied onto another resident, or from a phone field into a name field, fails to open
instead of showing one resident's data as another's.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.privacy.framing import framed
from shared.privacy.keyring import DataKey

FORMAT = "pd1"
NONCE_BYTES = 12
_TAG_BYTES = 16


class UnreadableField(ValueError):
    """A value is not a token this format reads, or was altered or moved: an integrity
    failure to investigate, never what an erasure gives (that is `fields.Erased`)."""


def _associated_data(key: DataKey, field: str) -> bytes:
    return framed(FORMAT, key.tenant, key.subject, field, str(key.generation))


def seal(key: DataKey, field: str, value: str) -> str:
    """`value` of the subject's `field` encrypted under `key`, as a token."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, value.encode(), _associated_data(key, field))
    payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
    return f"{FORMAT}.{key.generation}.{payload}"


def is_sealed(value: str) -> bool:
    """Whether `value` looks like a token (a field written before sealing does not)."""
    return value.startswith(FORMAT + ".")


def generation_of(token: str) -> int:
    """The generation of the key that sealed `token`; `UnreadableField` if not a token."""
    return _parts(token)[0]


def open_sealed(key: DataKey, field: str, token: str) -> str:
    """The clear value of `token`, sealed under `key` for the subject's `field`;
    `UnreadableField` if it was sealed under another key, subject or field, or altered."""
    generation, blob = _parts(token)
    if generation != key.generation:
        raise UnreadableField(
            f"a {field} token of generation {generation} met key {key.generation}"
        )
    try:
        clear = AESGCM(key.secret).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(key, field)
        )
    except InvalidTag:
        raise UnreadableField(
            f"a {field} token does not open under its subject's key: altered, or moved "
            "from another resident or field"
        ) from None
    return clear.decode()


def _parts(token: str) -> tuple[int, bytes]:
    pieces = token.split(".")
    if (
        len(pieces) != 3
        or pieces[0] != FORMAT
        or not pieces[1].isascii()
        or not pieces[1].isdigit()
    ):
        raise UnreadableField(f"not a {FORMAT} token")
    try:
        blob = base64.urlsafe_b64decode(pieces[2] + "=" * (-len(pieces[2]) % 4))
    except (binascii.Error, ValueError):
        raise UnreadableField(f"a {FORMAT} token's payload is not base64url") from None
    if len(blob) < NONCE_BYTES + _TAG_BYTES:
        raise UnreadableField(f"a {FORMAT} token is too short")
    return int(pieces[1]), blob
