"""A `KeyRing` in this process's memory: for tests and the benchmarks.

It keeps keys wrapped, like a stored ring, so the master key's rotation behaves the same;
a destroyed key's wrapped bytes are dropped, leaving only the fact that it existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.privacy.keyring import DataKey, new_data_key, rewrapped, unwrapped
from shared.privacy.wrapping import KeyWrapper, WrappedKey


@dataclass
class _Generation:
    number: int
    wrapped: WrappedKey | None
    """None once destroyed."""


class InMemoryKeyRing:
    """Data keys by (tenant, subject), every generation kept (destroyed ones as tombstones)."""

    def __init__(self, wrapper: KeyWrapper) -> None:
        self._wrapper = wrapper
        self._subjects: dict[tuple[str, str], list[_Generation]] = {}

    def with_wrapper(self, wrapper: KeyWrapper) -> InMemoryKeyRing:
        """The same keys, read and written through another wrapper: this process as it
        would be restarted with another master key configuration."""
        ring = InMemoryKeyRing(wrapper)
        ring._subjects = self._subjects
        return ring

    async def current(self, tenant: str, subject: str) -> DataKey:
        """The subject's live key, or a new generation when there is none."""
        generations = self._subjects.setdefault((tenant, subject), [])
        latest = generations[-1] if generations else None
        if latest is not None and latest.wrapped is not None:
            return await unwrapped(self._wrapper, tenant, subject, latest.number, latest.wrapped)
        number = latest.number + 1 if latest is not None else 1
        key, wrapped = await new_data_key(self._wrapper, tenant, subject, number)
        generations.append(_Generation(number, wrapped))
        return key

    async def find(self, tenant: str, subject: str, generation: int) -> DataKey | None:
        """That generation of the subject's key, unless destroyed or unknown."""
        for stored in self._subjects.get((tenant, subject), []):
            if stored.number == generation and stored.wrapped is not None:
                return await unwrapped(self._wrapper, tenant, subject, generation, stored.wrapped)
        return None

    async def destroy(self, tenant: str, subject: str) -> int:
        """Drop the wrapped bytes of every live generation; how many there were."""
        live = [g for g in self._subjects.get((tenant, subject), []) if g.wrapped is not None]
        for stored in live:
            stored.wrapped = None
        return len(live)

    async def is_destroyed(self, tenant: str, subject: str) -> bool:
        """Whether the subject's latest generation was destroyed."""
        generations = self._subjects.get((tenant, subject), [])
        return bool(generations) and generations[-1].wrapped is None

    async def close(self) -> None:
        """Nothing to release: the keys live in this object."""

    async def rewrap(self, limit: int) -> int:
        """Re-wrap up to `limit` live keys not under the current master key."""
        done = 0
        for (tenant, subject), generations in self._subjects.items():
            for stored in generations:
                if done >= limit:
                    return done
                if stored.wrapped is None or stored.wrapped.key_id == self._wrapper.current_key_id:
                    continue
                stored.wrapped = await rewrapped(
                    self._wrapper, tenant, subject, stored.number, stored.wrapped
                )
                done += 1
        return done
