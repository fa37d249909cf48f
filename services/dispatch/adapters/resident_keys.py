"""Residents' data keys in dispatch's `resident_keys` table: the `KeyRing` port on SQL.

Keys are stored wrapped by the master key (`shared.privacy.wrapping`), bound to their row's
(tenant, subject, generation): someone with the database but not the master key gets no
key, and a row copied onto another resident does not unwrap. Destroying a subject's keys
overwrites the wrapped bytes with NULL in the same row; the row stays as the erasure's
trace (no personal data: a subject is a pseudonymous reference).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from shared.grouped import Grouped, together_else_alone
from shared.privacy.keyring import DataKey, new_data_key, rewrapped, unwrapped
from shared.privacy.wrapping import KeyWrapper, WrappedKey

_CREATE_ATTEMPTS = 3
"""Creating a subject's key loses a race only to another process creating it (then its key
is read) or erasing it in between (then the next generation is tried)."""

_MAX_GROUP = 256
"""New keys one transaction inserts at most."""

_keys = t.resident_keys


def _of(tenant: str, subject: str) -> Any:
    return and_(_keys.c.tenant == tenant, _keys.c.subject == subject)


def _wrapped(row: Any) -> WrappedKey:
    return WrappedKey(row.wrapping_key_id, bytes(row.wrapped_key))


class SqlKeyRing:
    """The key ring in dispatch's database; `clock` stamps creations and erasures.

    New residents' keys made at one moment are inserted together (`shared.grouped`): a
    first report each costs one transaction between them instead of one each, which on
    SQLite also waited its turn for the single writer before the report's own append.
    """

    def __init__(
        self, engine: AsyncEngine, wrapper: KeyWrapper, *, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._wrapper = wrapper
        self._clock = clock
        self._creator: Grouped[dict[str, Any], None] = Grouped(
            self._insert, max_group=_MAX_GROUP, name="resident-keys-writer"
        )

    async def close(self) -> None:
        """Stop the task that inserts new keys."""
        await self._creator.close()

    async def current(self, tenant: str, subject: str) -> DataKey:
        """The subject's live key, or a new generation after the latest (none: the first)."""
        for _ in range(_CREATE_ATTEMPTS):
            latest = await self._latest(tenant, subject)
            if latest is not None and latest.wrapped_key is not None:
                return await unwrapped(
                    self._wrapper, tenant, subject, latest.generation, _wrapped(latest)
                )
            generation = latest.generation + 1 if latest is not None else 1
            key, wrapped = await new_data_key(self._wrapper, tenant, subject, generation)
            row = {
                "tenant": tenant,
                "subject": subject,
                "generation": generation,
                "wrapped_key": wrapped.blob,
                "wrapping_key_id": wrapped.key_id,
                "created_at": self._clock(),
            }
            try:
                await self._creator.submit(row)
            except IntegrityError:
                continue  # another process created this generation first: read theirs
            return key
        raise RuntimeError(
            f"no data key could be created for a subject of tenant {tenant!r} in "
            f"{_CREATE_ATTEMPTS} attempts: its keys are being created and erased at once"
        )

    async def find(self, tenant: str, subject: str, generation: int) -> DataKey | None:
        """That generation of the subject's key, unless destroyed or never created."""
        query = select(_keys.c.wrapped_key, _keys.c.wrapping_key_id).where(
            _of(tenant, subject),
            _keys.c.generation == generation,
            _keys.c.wrapped_key.is_not(None),
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return await unwrapped(self._wrapper, tenant, subject, generation, _wrapped(row))

    async def destroy(self, tenant: str, subject: str) -> int:
        """Overwrite every live generation's wrapped key with NULL; how many there were."""
        statement = (
            update(_keys)
            .where(_of(tenant, subject), _keys.c.wrapped_key.is_not(None))
            .values(wrapped_key=None, wrapping_key_id=None, destroyed_at=self._clock())
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount

    async def is_destroyed(self, tenant: str, subject: str) -> bool:
        """Whether the subject's latest generation was destroyed."""
        latest = await self._latest(tenant, subject)
        return latest is not None and latest.wrapped_key is None

    async def rewrap(self, limit: int) -> int:
        """Re-wrap up to `limit` live keys under the current master key; a key erased or
        re-wrapped by another process meanwhile is left as that process left it."""
        current = self._wrapper.current_key_id
        query = (
            select(_keys)
            .where(_keys.c.wrapped_key.is_not(None), _keys.c.wrapping_key_id != current)
            .order_by(_keys.c.tenant, _keys.c.subject, _keys.c.generation)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        done = 0
        for row in rows:
            again = await rewrapped(
                self._wrapper, row.tenant, row.subject, row.generation, _wrapped(row)
            )
            statement = (
                update(_keys)
                .where(
                    _of(row.tenant, row.subject),
                    _keys.c.generation == row.generation,
                    _keys.c.wrapping_key_id == row.wrapping_key_id,
                )
                .values(wrapped_key=again.blob, wrapping_key_id=again.key_id)
            )
            async with self._engine.begin() as conn:
                done += (await conn.execute(statement)).rowcount
        return done

    async def _insert(self, rows: list[dict[str, Any]]) -> list[Exception | None]:
        # A generation another process (or a neighbour) created first fails the group:
        # each row alone then, so only that resident's creation reads theirs and retries.
        return await together_else_alone(self._write, rows, _lost_race)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(_keys), rows)

    async def _latest(self, tenant: str, subject: str) -> Any:
        query = (
            select(_keys.c.generation, _keys.c.wrapped_key, _keys.c.wrapping_key_id)
            .where(_of(tenant, subject))
            .order_by(_keys.c.generation.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first()


def _lost_race(error: Exception) -> bool:
    return isinstance(error, IntegrityError)
