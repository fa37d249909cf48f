"""Sealing and opening residents' personal fields through a key ring, keys cached.

What the write path (sealing a reported event's name and phone) and the read paths (the
personal-data API, notify's contact lookup) call. Reading a field whose key was destroyed
answers `Erased`, a value, so an erased resident's old order shows as erased instead of
failing the request.

Unwrapping a data key costs a key-ring read (a database round trip) and an AES
operation, sealing a field only the latter; keys are therefore cached, bounded in number
and in age. The age bound is how long an erasure made by another process may take to
reach this one: its cached key stays usable here for at most `ttl_seconds`. An erasure
through this object takes effect here at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.privacy.envelope import generation_of, open_sealed, seal
from shared.privacy.keyring import DataKey, KeyRing

CACHE_SIZE = 4096
CACHE_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class Erased:
    """What an erased resident's field reads as: the field is known, its value is gone."""

    field: str


_Slot = tuple[str, str, int | None]
"""(tenant, subject, generation); None stands for the current generation."""


class PersonalFields:
    """Seals and opens personal fields of subjects held in `keyring`.

    `cache_size=0` turns the cache off (every call reads the key ring).
    """

    def __init__(
        self,
        keyring: KeyRing,
        *,
        cache_size: int = CACHE_SIZE,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keyring = keyring
        self._size = cache_size
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._cache: OrderedDict[_Slot, tuple[DataKey, float]] = OrderedDict()

    async def seal(self, tenant: str, subject: str, field: str, value: str) -> str:
        """`value` of the subject's `field` as a token under their current key."""
        key = self._cached((tenant, subject, None))
        if key is None:
            key = await self._keyring.current(tenant, subject)
            self._remember((tenant, subject, None), key)
            # What is sealed now is read back soon (by a projection, a notification).
            self._remember((tenant, subject, key.generation), key)
        return seal(key, field, value)

    async def open(self, tenant: str, subject: str, field: str, token: str) -> str | Erased:
        """The clear value of the subject's `field`, or `Erased` when its key was destroyed.

        `UnreadableField` when `token` is not a token or does not belong to this subject
        and field: that is tampering or a bug, not an erasure.
        """
        generation = generation_of(token)
        slot = (tenant, subject, generation)
        key = self._cached(slot)
        if key is None:
            key = await self._keyring.find(tenant, subject, generation)
            if key is None:
                return Erased(field)
            self._remember(slot, key)
        return open_sealed(key, field, token)

    async def erase(self, tenant: str, subject: str) -> int:
        """Destroy the subject's keys (every field ever sealed for them becomes `Erased`)
        and forget them here; how many live keys were destroyed."""
        for slot in [s for s in self._cache if s[:2] == (tenant, subject)]:
            del self._cache[slot]
        return await self._keyring.destroy(tenant, subject)

    async def close(self) -> None:
        """Close the key ring (at the service's stop)."""
        await self._keyring.close()

    def _cached(self, slot: _Slot) -> DataKey | None:
        found = self._cache.get(slot)
        if found is None:
            return None
        if self._monotonic() - found[1] >= self._ttl:
            del self._cache[slot]
            return None
        self._cache.move_to_end(slot)
        return found[0]

    def _remember(self, slot: _Slot, key: DataKey) -> None:
        if self._size <= 0:
            return
        self._cache[slot] = (key, self._monotonic())
        self._cache.move_to_end(slot)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
