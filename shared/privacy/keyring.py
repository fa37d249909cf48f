"""The key ring port: each subject's data keys, kept wrapped, destroyed on erasure.

A subject is a resident (by their pseudonymous reference) within a tenant. Their personal
fields are encrypted under their data key; destroying the key (crypto-shredding, 加密粉碎)
makes every copy of those fields unreadable at once — in the event store, on the stream,
in backups — while the events keep their shape. A key has a generation: after an erasure
the same resident may report again, and gets a new key (generation + 1) whose fields the
erasure did not cover; the destroyed generations stay destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.privacy.framing import framed
from shared.privacy.wrapping import KeyWrapper, WrappedKey

DATA_KEY_BITS = 256


@dataclass(frozen=True)
class DataKey:
    """One generation of a subject's data key, unwrapped; `repr` never shows the secret."""

    tenant: str
    subject: str
    generation: int
    secret: bytes = field(repr=False)


class KeyRing(Protocol):
    """Where data keys live. Implementations keep them wrapped by the master key."""

    async def current(self, tenant: str, subject: str) -> DataKey:
        """The key new fields of `subject` are sealed with: their live key, or a new one
        (the first, or the next generation after an erasure)."""
        ...

    async def find(self, tenant: str, subject: str, generation: int) -> DataKey | None:
        """That generation of the subject's key; None when destroyed or never created."""
        ...

    async def destroy(self, tenant: str, subject: str) -> int:
        """Destroy every generation of the subject's key (crypto-shred); how many were
        live. Destroying again destroys nothing more and is not an error."""
        ...

    async def is_destroyed(self, tenant: str, subject: str) -> bool:
        """Whether the subject was erased and has no live key since."""
        ...

    async def rewrap(self, limit: int) -> int:
        """Re-wrap up to `limit` live keys wrapped by a retired master key under the
        current one (the data they encrypt is untouched); how many were re-wrapped."""
        ...

    async def close(self) -> None:
        """Release what the ring holds open (a writer task) at the service's stop."""
        ...


def wrapping_context(tenant: str, subject: str, generation: int) -> bytes:
    """What a wrapped key is bound to: a row copied onto another subject will not unwrap."""
    return framed("data key", tenant, subject, str(generation))


async def new_data_key(
    wrapper: KeyWrapper, tenant: str, subject: str, generation: int
) -> tuple[DataKey, WrappedKey]:
    """A fresh random data key for that generation of `subject`, and its wrapped form to
    store."""
    key = DataKey(tenant, subject, generation, AESGCM.generate_key(DATA_KEY_BITS))
    wrapped = await wrapper.wrap(key.secret, wrapping_context(tenant, subject, generation))
    return key, wrapped


async def unwrapped(
    wrapper: KeyWrapper, tenant: str, subject: str, generation: int, wrapped: WrappedKey
) -> DataKey:
    """The data key a stored row holds wrapped."""
    secret = await wrapper.unwrap(wrapped, wrapping_context(tenant, subject, generation))
    return DataKey(tenant, subject, generation, secret)


async def rewrapped(
    wrapper: KeyWrapper, tenant: str, subject: str, generation: int, wrapped: WrappedKey
) -> WrappedKey:
    """`wrapped` wrapped again under the wrapper's current master key."""
    context = wrapping_context(tenant, subject, generation)
    return await wrapper.wrap(await wrapper.unwrap(wrapped, context), context)
