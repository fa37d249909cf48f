"""One master secret gives a distinct key per job; a resident's reference is stable, keyed
and per tenant."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.privacy.derivation import privacy_keys
from shared.privacy.pseudonym import is_resident_reference, resident_reference
from shared.settings import DEV_PRIVACY_MASTER_KEY, MIN_SECRET_BYTES, ServiceSettings

MASTER = b"m" * 32
PHONE = "13800000000"


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "PRIVACY_MASTER_KEY", "PRIVACY_RETIRED_MASTER_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_each_job_gets_its_own_key_and_the_same_secret_the_same_keys() -> None:
    keys = privacy_keys(MASTER)

    assert len({keys.blind_index, keys.resident_reference, keys.wrapping, MASTER}) == 4
    assert privacy_keys(MASTER) == keys
    assert privacy_keys(b"n" * 32).wrapping_key_id != keys.wrapping_key_id


def test_the_keys_repr_shows_the_wrapping_key_id_only() -> None:
    keys = privacy_keys(MASTER)

    assert repr(keys) == f"PrivacyKeys(wrapping_key_id={keys.wrapping_key_id!r})"


def test_a_resident_reference_is_stable_and_names_no_phone() -> None:
    key = privacy_keys(MASTER).resident_reference

    reference = resident_reference(key, "acme", PHONE)

    assert reference == resident_reference(key, "acme", PHONE)
    assert is_resident_reference(reference)
    assert len(reference) == len("rsd_") + 24
    assert PHONE not in reference and PHONE[-4:] not in reference


def test_a_resident_reference_differs_by_tenant_and_by_key() -> None:
    key = privacy_keys(MASTER).resident_reference

    assert resident_reference(key, "acme", PHONE) != resident_reference(key, "other", PHONE)
    assert resident_reference(key, "a", "b" + PHONE) != resident_reference(key, "ab", PHONE)
    other_key = privacy_keys(b"n" * 32).resident_reference
    assert resident_reference(key, "acme", PHONE) != resident_reference(other_key, "acme", PHONE)


@pytest.mark.parametrize(
    "value", ["", "rsd_", "rsd_" + "A" * 24, "usr_" + "a" * 24, "rsd_" + "1" * 24]
)
def test_other_values_are_not_resident_references(value: str) -> None:
    assert not is_resident_reference(value)


def test_production_refuses_the_development_master_key_and_a_short_one() -> None:
    with pytest.raises(ValueError, match="development PRIVACY_MASTER_KEY"):
        ServiceSettings(privacy_master_key=SecretStr(DEV_PRIVACY_MASTER_KEY)).privacy_keys()
    with pytest.raises(ValueError, match="development PRIVACY_MASTER_KEY"):
        ServiceSettings(privacy_master_key=None).privacy_keys()
    short = SecretStr("s" * (MIN_SECRET_BYTES - 1))
    with pytest.raises(ValueError, match=f"31 bytes.*at least {MIN_SECRET_BYTES}"):
        ServiceSettings(privacy_master_key=short).privacy_keys()


def test_the_refusal_never_shows_the_secret() -> None:
    secret = "x" * (MIN_SECRET_BYTES - 1)

    problem = ServiceSettings(privacy_master_key=SecretStr(secret)).privacy_problem()

    assert problem is not None and secret not in problem
    assert secret not in repr(ServiceSettings(privacy_master_key=SecretStr(secret)))


def test_production_derives_from_its_own_master_key() -> None:
    settings = ServiceSettings(privacy_master_key=SecretStr("p" * MIN_SECRET_BYTES))

    assert settings.privacy_keys() == privacy_keys(b"p" * MIN_SECRET_BYTES)


def test_development_said_explicitly_accepts_the_development_master_key() -> None:
    settings = ServiceSettings(environment="development")

    assert settings.privacy_keys() == privacy_keys(DEV_PRIVACY_MASTER_KEY.encode())


def test_a_retired_master_key_still_unwraps_what_it_wrapped() -> None:
    old, new = "o" * MIN_SECRET_BYTES, "n" * MIN_SECRET_BYTES
    settings = ServiceSettings(
        privacy_master_key=SecretStr(new), privacy_retired_master_keys=SecretStr(f" {old} ,")
    )

    wrapper = settings.key_wrapper()

    assert wrapper.current_key_id == privacy_keys(new.encode()).wrapping_key_id
    assert wrapper.knows(privacy_keys(old.encode()).wrapping_key_id)
