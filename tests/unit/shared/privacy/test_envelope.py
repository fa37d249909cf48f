"""A sealed field opens only under its subject's key, for its field; an erased subject's
fields read as erased."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.privacy.derivation import privacy_keys
from shared.privacy.envelope import UnreadableField, generation_of, is_sealed, open_sealed, seal
from shared.privacy.fields import CACHE_SIZE, Erased, PersonalFields
from shared.privacy.keyring import DataKey
from shared.privacy.memory_keyring import InMemoryKeyRing
from shared.privacy.wrapping import LocalKeyWrapper

KEY = DataKey("acme", "rsd_a", 1, b"k" * 32)


def _fields(cache_size: int = CACHE_SIZE) -> tuple[PersonalFields, InMemoryKeyRing]:
    ring = InMemoryKeyRing(LocalKeyWrapper(privacy_keys(b"m" * 32)))
    return PersonalFields(ring, cache_size=cache_size), ring


def test_a_sealed_field_is_a_compact_token_that_opens_to_the_value() -> None:
    token = seal(KEY, "phone", "13800000000")

    assert token.startswith("pd1.1.") and is_sealed(token)
    assert "13800000000" not in token and "=" not in token
    assert generation_of(token) == 1
    assert open_sealed(KEY, "phone", token) == "13800000000"


def test_sealing_twice_gives_two_tokens() -> None:
    assert seal(KEY, "name", "王五") != seal(KEY, "name", "王五")


@pytest.mark.parametrize(
    "other",
    [
        DataKey("other", "rsd_a", 1, KEY.secret),
        DataKey("acme", "rsd_b", 1, KEY.secret),
        DataKey("acme", "rsd_a", 1, b"j" * 32),
    ],
)
def test_a_token_moved_to_another_tenant_or_resident_does_not_open(other: DataKey) -> None:
    with pytest.raises(UnreadableField):
        open_sealed(other, "phone", seal(KEY, "phone", "13800000000"))


def test_a_token_moved_to_another_field_does_not_open() -> None:
    with pytest.raises(UnreadableField, match="moved"):
        open_sealed(KEY, "name", seal(KEY, "phone", "13800000000"))


@pytest.mark.parametrize(
    "token", ["", "13800000000", "pd1.x.AAAA", "pd1.1.!!!", "pd1.1.AAAA", "pd2.1.AAAA", "pd1.1"]
)
def test_a_value_that_is_not_a_token_is_unreadable_not_a_crash(token: str) -> None:
    with pytest.raises(UnreadableField):
        open_sealed(KEY, "phone", token)


def test_an_altered_token_does_not_open() -> None:
    token = seal(KEY, "phone", "13800000000")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]

    with pytest.raises(UnreadableField):
        open_sealed(KEY, "phone", flipped)


async def test_an_erased_residents_fields_read_as_erased() -> None:
    fields, _ = _fields()
    token = await fields.seal("acme", "rsd_a", "phone", "13800000000")

    assert await fields.erase("acme", "rsd_a") == 1

    assert await fields.open("acme", "rsd_a", "phone", token) == Erased("phone")


async def test_another_process_erasing_takes_effect_here_once_the_cached_key_is_old() -> None:
    now = [0.0]
    ring = InMemoryKeyRing(LocalKeyWrapper(privacy_keys(b"m" * 32)))
    here = PersonalFields(ring, ttl_seconds=60, monotonic=lambda: now[0])
    elsewhere = PersonalFields(ring)
    token = await here.seal("acme", "rsd_a", "name", "王五")
    assert await here.open("acme", "rsd_a", "name", token) == "王五"

    await elsewhere.erase("acme", "rsd_a")
    now[0] = 60.0

    assert await here.open("acme", "rsd_a", "name", token) == Erased("name")


async def test_a_resident_reporting_again_after_erasure_gets_a_new_key() -> None:
    fields, _ = _fields()
    old = await fields.seal("acme", "rsd_a", "phone", "13800000000")
    await fields.erase("acme", "rsd_a")

    new = await fields.seal("acme", "rsd_a", "phone", "13800000000")

    assert generation_of(new) == 2
    assert await fields.open("acme", "rsd_a", "phone", new) == "13800000000"
    assert await fields.open("acme", "rsd_a", "phone", old) == Erased("phone")


async def test_without_a_cache_every_call_reads_the_key_ring() -> None:
    fields, ring = _fields(cache_size=0)
    token = await fields.seal("acme", "rsd_a", "phone", "13800000000")

    await ring.destroy("acme", "rsd_a")

    assert await fields.open("acme", "rsd_a", "phone", token) == Erased("phone")


async def test_the_cache_keeps_at_most_its_size() -> None:
    fields, ring = _fields(cache_size=2)
    tokens = [await fields.seal("acme", f"rsd_{n}", "name", f"n{n}") for n in range(3)]

    # The first subject's key fell out of the cache: destroying it shows at once.
    await ring.destroy("acme", "rsd_0")

    assert await fields.open("acme", "rsd_0", "name", tokens[0]) == Erased("name")
    assert await fields.open("acme", "rsd_2", "name", tokens[2]) == "n2"


async def test_a_field_just_sealed_opens_without_reading_the_key_ring_again() -> None:
    fields, ring = _fields()
    token = await fields.seal("acme", "rsd_a", "phone", "13800000000")
    # Destroyed behind the cache's back (as another process would): the cached key opens.
    await ring.destroy("acme", "rsd_a")

    assert await fields.open("acme", "rsd_a", "phone", token) == "13800000000"


@given(st.text(), st.sampled_from(["name", "phone", "unit"]))
def test_any_value_of_any_field_opens_to_itself_and_shows_nothing_of_it(
    value: str, field: str
) -> None:
    token = seal(KEY, field, value)

    assert open_sealed(KEY, field, token) == value
    assert token.isascii() and token.count(".") == 2
    if len(value) >= 12:  # a shorter one could turn up in random base64 by chance
        assert value not in token
