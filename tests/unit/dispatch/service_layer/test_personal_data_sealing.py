"""A report's personal data sealed before it is stored: reference, masks and tokens, no
clear value; opened again only through the resident's key, erased once it is destroyed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dispatch.domain.workorder import ERASED
from services.dispatch.service_layer.personal_data import open_report, seal_report
from shared.events.workorder import WorkOrderReported
from shared.privacy.derivation import privacy_keys
from shared.privacy.fields import PersonalFields
from shared.privacy.memory_keyring import InMemoryKeyRing
from shared.privacy.pseudonym import is_resident_reference, reporter_identity, resident_reference
from shared.privacy.wrapping import LocalKeyWrapper

KEYS = privacy_keys(b"m" * 32)
REFERENCE_KEY = KEYS.resident_reference
ORDER = "0190a1b2-0000-7000-8000-000000000001"


def _fields() -> tuple[PersonalFields, InMemoryKeyRing]:
    ring = InMemoryKeyRing(LocalKeyWrapper(KEYS))
    return PersonalFields(ring), ring


def _report(name: str, phone: str | None, unit: str | None, detail: str | None) -> dict[str, Any]:
    return {
        "kind": "repair",
        "category": "plumbing",
        "urgency": "normal",
        "location": {"building": "3", "unit": unit, "detail": detail},
        "reporter": {"name": name, "phone": phone, "resident_id": None},
        "channel": "phone",
        "description": "厨房水管漏水",
        "owner": "cs-li",
    }


def _seal(data: dict[str, Any], fields: PersonalFields) -> dict[str, Any]:
    return asyncio.run(seal_report(data, "acme", ORDER, fields, REFERENCE_KEY))


def test_a_sealed_report_holds_reference_masks_and_tokens_and_parses() -> None:
    fields, _ = _fields()
    sealed = _seal(_report("王五", "13800000000", "2-1202", "厨房"), fields)

    reporter, location = sealed["reporter"], sealed["location"]
    assert reporter["name"] == "王*" and reporter["phone"] == "138****0000"
    assert location["unit"] == "*-****" and location["building"] == "3"
    assert reporter["resident"] == resident_reference(REFERENCE_KEY, "acme", "13800000000")
    assert set(reporter["sealed"]) == {"name", "phone"}
    assert set(location["sealed"]) == {"unit", "detail"}
    assert all(t.startswith("pd1.1.") for t in [*reporter["sealed"].values()])
    event = WorkOrderReported.model_validate(sealed)
    assert event.reporter.resident == reporter["resident"]
    assert event.location.sealed == location["sealed"]


def test_sealing_sealed_data_changes_nothing() -> None:
    fields, _ = _fields()
    sealed = _seal(_report("王五", "13800000000", "1202", None), fields)

    assert _seal(sealed, fields) == sealed


def test_the_reference_follows_the_phone_then_the_login_then_the_order() -> None:
    assert reporter_identity("+86 138-0000-0000", "res-1", ORDER) == "13800000000"
    assert reporter_identity("not a phone", "res-1", ORDER) == "login:res-1"
    assert reporter_identity(None, None, ORDER) == f"order:{ORDER}"


def test_clear_data_opens_as_it_is_without_tokens() -> None:
    fields, _ = _fields()
    clear = _report("王五", "13800000000", "1202", None)

    opened, erased = asyncio.run(open_report(clear, "acme", fields))

    assert opened == clear and erased == ()


def test_an_erased_residents_fields_open_as_erased_and_keep_their_masks_elsewhere() -> None:
    fields, ring = _fields()
    sealed = _seal(_report("王五", "13800000000", "1202", None), fields)
    asyncio.run(ring.destroy("acme", sealed["reporter"]["resident"]))
    fresh = PersonalFields(ring)  # another process: nothing cached

    opened, erased = asyncio.run(open_report(sealed, "acme", fresh))

    assert erased == ("reporter.name", "reporter.phone", "location.unit")
    assert opened["reporter"]["name"] == ERASED and opened["reporter"]["phone"] == ERASED
    assert opened["location"]["unit"] == ERASED
    assert "sealed" not in opened["reporter"] and "sealed" not in opened["location"]
    assert sealed["reporter"]["name"] == "王*"


names = st.text(min_size=1, max_size=20).filter(str.strip)
phones = st.one_of(st.none(), st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
units = st.one_of(st.none(), st.text(min_size=1, max_size=30))


@settings(max_examples=60, deadline=None)
@given(name=names, phone=phones, unit=units, detail=units)
def test_sealing_then_opening_gives_the_report_back_and_the_sealed_form_hides_it(
    name: str, phone: str | None, unit: str | None, detail: str | None
) -> None:
    fields, _ = _fields()
    clear = _report(name, phone, unit, detail)

    sealed = _seal(clear, fields)
    opened, erased = asyncio.run(open_report(sealed, "acme", fields))

    assert erased == ()
    assert {**opened["reporter"], "resident": None} == {**clear["reporter"], "resident": None}
    assert opened["location"] == clear["location"]
    tokens = json.dumps(sealed["reporter"]["sealed"]) + json.dumps(
        sealed["location"].get("sealed") or {}
    )
    assert is_resident_reference(sealed["reporter"]["resident"])
    if phone is not None:
        assert phone not in json.dumps(sealed, ensure_ascii=False)
        assert phone not in tokens
