"""Masking what notify stored in clear before (`domain.stored_before_masking`): each
value masked, masks kept as they are (a second run changes nothing), a resident's
reference kept."""

from __future__ import annotations

from services.notify.domain.stored_before_masking import (
    masked_dedup_key,
    masked_facts,
    masked_notification,
    masked_recipient,
    masked_text,
    replacements,
    report_reference,
    resident_recipient,
)
from shared.privacy.clear_reports import masked_report

FACTS = {
    "unit": "2-1202",
    "resident_name": "欧阳娜娜",
    "resident_phone": "139 1234 5678",
    "resident_id": "res-1",
    "resident": "rsd_aaaaaaaaaaaaaaaaaaaaaaaa",
    "building": "3",
}


def test_facts_are_masked_once_and_keep_the_reference() -> None:
    masked = masked_facts(FACTS)

    assert (masked["resident_name"], masked["resident_phone"]) == ("欧阳**", "139****5678")
    assert masked["unit"] == "*-****" and masked["building"] == "3"
    assert masked["resident"] == FACTS["resident"] and masked["resident_id"] == "res-1"
    assert masked_facts(masked) == masked
    assert replacements(masked) == []


def test_texts_lose_every_clear_value_the_facts_hold_longest_first() -> None:
    pairs = replacements(FACTS)
    text = "欧阳娜娜您好：2-1202 报修已受理，回电 13912345678 或 139 1234 5678。"

    masked = masked_text(text, pairs)

    assert masked == "欧阳**您好：*-**** 报修已受理，回电 139****5678 或 139****5678。"
    assert [len(c) for c, _ in pairs] == sorted((len(c) for c, _ in pairs), reverse=True)
    assert masked_text(masked, pairs) == masked


def test_recipients_and_keys_by_phone_are_masked_others_kept() -> None:
    assert masked_recipient("resident:phone:13912345678") == "resident:phone:139****5678"
    assert masked_recipient("resident:res-1") == "resident:res-1"
    assert masked_recipient("person:cs-li") == "person:cs-li"
    key = "e1|resident:phone:13912345678|sms"
    assert masked_dedup_key(key) == "e1|resident:phone:139****5678|sms"
    assert masked_dedup_key(masked_dedup_key(key)) == masked_dedup_key(key)


def test_events_in_dead_letters_and_the_outbox_are_masked() -> None:
    report = {
        "type": "workorder.reported.v1",
        "data": {
            "reporter": {"name": "李建国", "phone": "13698765432", "resident_id": None},
            "location": {"building": "1", "unit": "3-1102", "detail": "北阳台3号窗"},
            "description": "漏水",
        },
    }
    masked = masked_report(report)
    assert masked["data"]["reporter"] == {
        "name": "李**",
        "phone": "136****5432",
        "resident_id": None,
    }
    assert masked["data"]["location"]["unit"] == "*-****"
    assert masked["data"]["description"] == "漏水" and masked_report(masked) == masked
    assert masked_report({"type": "x"}) == {"type": "x"}
    sent = {"data": {"recipient": "resident:phone:13698765432", "channel": "sms"}}
    assert masked_notification(sent)["data"]["recipient"] == "resident:phone:136****5432"
    assert masked_notification({"data": {"channel": "sms"}}) == {"data": {"channel": "sms"}}


def test_a_known_reference_names_the_resident_in_facts_and_deliveries() -> None:
    reference = "rsd_bbbbbbbbbbbbbbbbbbbbbbbb"
    facts = {k: v for k, v in FACTS.items() if k != "resident"}

    assert masked_facts(facts, reference)["resident"] == reference
    assert masked_facts(FACTS, reference)["resident"] == FACTS["resident"]  # kept
    for key in ("resident:phone:13912345678", "resident:res-1", f"resident:{reference}"):
        assert resident_recipient(key, reference) == f"resident:{reference}"
    assert resident_recipient("person:cs-li", reference) == "person:cs-li"
    assert (
        masked_dedup_key("e1|resident:res-1|inbox", reference) == f"e1|resident:{reference}|inbox"
    )
    sealed = {"subject": "wo-1", "data": {"reporter": {"name": "王*", "resident": reference}}}
    assert report_reference(sealed) == ("wo-1", reference)
    assert report_reference({"subject": "wo-1", "data": {"reporter": {"name": "王五"}}}) is None
