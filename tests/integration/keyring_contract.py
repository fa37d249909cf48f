"""The contract of a `shared.privacy.keyring.KeyRing`, written once for every implementation.

It talks only through the port. A suite subclasses `KeyRingContract` with a `rings`
fixture: a function giving the ring under test as seen through a given key wrapper, every
ring it gives sharing one store (one database), as processes configured with different
master keys would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from shared.privacy.derivation import privacy_keys
from shared.privacy.keyring import KeyRing
from shared.privacy.wrapping import LocalKeyWrapper, UnwrapError

RingOn = Callable[[LocalKeyWrapper], KeyRing]
"""The ring under test, seen through that wrapper."""

OLD = privacy_keys(b"o" * 32)
NEW = privacy_keys(b"n" * 32)
TENANT = "acme"
RESIDENT = "rsd_aaaaaaaaaaaaaaaaaaaaaaaa"
NEIGHBOUR = "rsd_bbbbbbbbbbbbbbbbbbbbbbbb"
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


class KeyRingContract:
    """What every key ring promises. Subclasses give a `rings` fixture."""

    @pytest.fixture
    def ring(self, rings: RingOn) -> KeyRing:
        return rings(LocalKeyWrapper(OLD))

    async def test_a_subjects_first_key_is_created_once_and_found_again(
        self, ring: KeyRing
    ) -> None:
        first = await ring.current(TENANT, RESIDENT)

        assert first.generation == 1 and len(first.secret) == 32
        assert await ring.current(TENANT, RESIDENT) == first
        assert await ring.find(TENANT, RESIDENT, 1) == first
        assert not await ring.is_destroyed(TENANT, RESIDENT)

    async def test_each_subject_of_each_tenant_has_its_own_key(self, ring: KeyRing) -> None:
        keys = {
            (await ring.current(tenant, subject)).secret
            for tenant in (TENANT, "other")
            for subject in (RESIDENT, NEIGHBOUR)
        }

        assert len(keys) == 4

    async def test_an_unknown_key_is_not_found(self, ring: KeyRing) -> None:
        await ring.current(TENANT, RESIDENT)

        assert await ring.find(TENANT, RESIDENT, 2) is None
        assert await ring.find(TENANT, NEIGHBOUR, 1) is None
        assert await ring.find("other", RESIDENT, 1) is None

    async def test_a_destroyed_key_is_never_found_again(self, ring: KeyRing) -> None:
        await ring.current(TENANT, RESIDENT)

        assert await ring.destroy(TENANT, RESIDENT) == 1

        assert await ring.find(TENANT, RESIDENT, 1) is None
        assert await ring.is_destroyed(TENANT, RESIDENT)

    async def test_destroying_again_or_destroying_the_unknown_destroys_nothing(
        self, ring: KeyRing
    ) -> None:
        await ring.current(TENANT, RESIDENT)
        await ring.destroy(TENANT, RESIDENT)

        assert await ring.destroy(TENANT, RESIDENT) == 0
        assert await ring.destroy(TENANT, NEIGHBOUR) == 0
        assert not await ring.is_destroyed(TENANT, NEIGHBOUR)

    async def test_destroying_one_subject_leaves_the_others(self, ring: KeyRing) -> None:
        neighbour = await ring.current(TENANT, NEIGHBOUR)
        same_person_elsewhere = await ring.current("other", RESIDENT)
        await ring.current(TENANT, RESIDENT)

        await ring.destroy(TENANT, RESIDENT)

        assert await ring.find(TENANT, NEIGHBOUR, 1) == neighbour
        assert await ring.find("other", RESIDENT, 1) == same_person_elsewhere

    async def test_a_subject_seen_again_after_erasure_gets_a_new_generation(
        self, ring: KeyRing
    ) -> None:
        erased = await ring.current(TENANT, RESIDENT)
        await ring.destroy(TENANT, RESIDENT)

        again = await ring.current(TENANT, RESIDENT)

        assert again.generation == 2 and again.secret != erased.secret
        assert await ring.find(TENANT, RESIDENT, 1) is None
        assert await ring.find(TENANT, RESIDENT, 2) == again
        assert not await ring.is_destroyed(TENANT, RESIDENT)
        assert await ring.destroy(TENANT, RESIDENT) == 1

    async def test_two_callers_creating_a_subjects_key_at_once_get_the_same_key(
        self, rings: RingOn
    ) -> None:
        one, two = rings(LocalKeyWrapper(OLD)), rings(LocalKeyWrapper(OLD))

        keys = await asyncio.gather(*(r.current(TENANT, RESIDENT) for r in (one, two, one, two)))

        assert len({k.secret for k in keys}) == 1
        assert {k.generation for k in keys} == {1}

    async def test_a_ring_without_the_master_key_refuses_rather_than_answers_erased(
        self, rings: RingOn
    ) -> None:
        await rings(LocalKeyWrapper(OLD)).current(TENANT, RESIDENT)

        with pytest.raises(UnwrapError, match="PRIVACY_RETIRED_MASTER_KEYS"):
            await rings(LocalKeyWrapper(NEW)).find(TENANT, RESIDENT, 1)

    async def test_a_rotated_master_key_rewraps_keys_without_changing_them(
        self, rings: RingOn
    ) -> None:
        before = rings(LocalKeyWrapper(OLD))
        keys = [await before.current(TENANT, s) for s in (RESIDENT, NEIGHBOUR, "rsd_c")]
        await before.destroy(TENANT, "rsd_c")
        rotating = rings(LocalKeyWrapper(NEW, [OLD]))

        assert await rotating.find(TENANT, RESIDENT, 1) == keys[0]
        assert await rotating.rewrap(1) == 1
        assert await rotating.rewrap(10) == 1
        assert await rotating.rewrap(10) == 0

        after = rings(LocalKeyWrapper(NEW))
        assert await after.find(TENANT, RESIDENT, 1) == keys[0]
        assert await after.find(TENANT, NEIGHBOUR, 1) == keys[1]
        assert await after.find(TENANT, "rsd_c", 1) is None
        assert await after.current(TENANT, RESIDENT) == keys[0]
