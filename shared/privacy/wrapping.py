"""Data keys wrapped by the master key (envelope encryption's outer layer).

The `KeyWrapper` port lets a key-management service hold the master key instead of this
process (it would wrap and unwrap remotely, naming its key id and version in
`WrappedKey.key_id`). `LocalKeyWrapper` wraps with AES-256-GCM under the wrapping key
derived from `PRIVACY_MASTER_KEY`, and still unwraps with retired master secrets so the
master key can rotate: re-wrapping each data key is enough, the data stays as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.privacy.derivation import PrivacyKeys

NONCE_BYTES = 12


class UnwrapError(Exception):
    """A stored data key cannot be unwrapped: its master key is unknown here, or the row
    was altered or moved. Never the result of an erasure (an erased key has no row to
    unwrap), so it is an operator's problem, not a resident's."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: which master key wrapped it, and the wrapped bytes."""

    key_id: str
    blob: bytes


class KeyWrapper(Protocol):
    """Wraps data keys under the master key; async, for a key-management service's calls."""

    @property
    def current_key_id(self) -> str:
        """The master key new wraps use; a row under another one is due a re-wrap."""
        ...

    async def wrap(self, secret: bytes, context: bytes) -> WrappedKey:
        """`secret` wrapped under the current master key, bound to `context`."""
        ...

    async def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        """The secret `wrapped` holds; `UnwrapError` if it cannot be unwrapped here."""
        ...


class LocalKeyWrapper:
    """Wraps with the key derived from the master secret; unwraps with it or a retired one."""

    def __init__(self, current: PrivacyKeys, retired: Sequence[PrivacyKeys] = ()) -> None:
        self._current_id = current.wrapping_key_id
        self._keys = {k.wrapping_key_id: AESGCM(k.wrapping) for k in (*retired, current)}

    @property
    def current_key_id(self) -> str:
        """The id of the wrapping key derived from the current master secret."""
        return self._current_id

    def knows(self, key_id: str) -> bool:
        """Whether keys wrapped under master key `key_id` unwrap here."""
        return key_id in self._keys

    async def wrap(self, secret: bytes, context: bytes) -> WrappedKey:
        """`secret` under the current wrapping key: a random nonce, then the ciphertext."""
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._keys[self._current_id].encrypt(nonce, secret, context)
        return WrappedKey(self._current_id, blob)

    async def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        """The secret in `wrapped`, with whichever known master key wrapped it."""
        aead = self._keys.get(wrapped.key_id)
        if aead is None:
            raise UnwrapError(
                f"a data key is wrapped by master key {wrapped.key_id}, which this process "
                "does not have: set it in PRIVACY_RETIRED_MASTER_KEYS until re-wrapped"
            )
        nonce, sealed = wrapped.blob[:NONCE_BYTES], wrapped.blob[NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, sealed, context)
        except InvalidTag:
            raise UnwrapError(
                f"a data key wrapped by {wrapped.key_id} does not unwrap: the row was "
                "altered or copied onto another subject"
            ) from None
