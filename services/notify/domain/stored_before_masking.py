"""Masking what notify stored before it kept no clear resident data (`wo notify
mask-personal-data`, docs/privacy.md "Stores written before sealing").

notify folded each reporter's name, phone and unit into its work-order facts in clear,
addressed residents' deliveries by their phone (`resident:phone:<phone>`), and rendered
them into subjects and bodies. These functions give each stored value its masked form:
pure, and idempotent (masking a mask changes nothing), so a run repeated after a crash,
or once too often, changes nothing more.
"""

from __future__ import annotations

import re
from typing import Any

from shared.privacy.masking import mask_address, mask_name, mask_phone

PHONE_RECIPIENT = "resident:phone:"
"""The recipient key of a resident known by phone only (before references)."""

_FACT_MASKS = (("resident_name", mask_name), ("resident_phone", mask_phone), ("unit", mask_address))


def masked_facts(facts: dict[str, Any], reference: str | None = None) -> dict[str, Any]:
    """A work order's folded facts with the resident's name, phone and unit masked, and
    the resident's `reference` (from their sealed report) where the facts had none;
    everything else kept."""
    out = dict(facts)
    if reference and not out.get("resident"):
        out["resident"] = reference
    for key, mask in _FACT_MASKS:
        if isinstance(out.get(key), str) and out[key]:
            out[key] = mask(out[key])
    return out


def replacements(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The clear values the facts hold (as stored, and a phone by its digits too), each
    with its mask, longest first (a unit inside a longer value is not cut apart)."""
    pairs: dict[str, str] = {}
    for key, mask in _FACT_MASKS:
        value = facts.get(key)
        if not isinstance(value, str) or not value.strip() or "*" in value:
            continue  # nothing, or a mask already (no clear value holds a star)
        shown = mask(value)
        variants = {value.strip()}
        if key == "resident_phone":
            variants.add(re.sub(r"\D", "", value))
        for variant in variants:
            if variant and variant != shown and len(variant) > 1:
                pairs[variant] = shown
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def masked_text(text: str, pairs: list[tuple[str, str]]) -> str:
    """`text` (a message's subject or body) with each clear value replaced by its mask."""
    for clear, shown in pairs:
        text = text.replace(clear, shown)
    return text


def masked_recipient(key: str) -> str:
    """A delivery's recipient key with a resident's phone masked (other keys as they are)."""
    if key.startswith(PHONE_RECIPIENT):
        return PHONE_RECIPIENT + mask_phone(key[len(PHONE_RECIPIENT) :])
    return key


def resident_recipient(key: str, reference: str | None) -> str:
    """A delivery's recipient key as notify keys residents now: `resident:<reference>`
    when the resident's reference is known (what erasure and export find their messages
    by), else with their phone masked. Staff keys stay as they are."""
    if reference and key.startswith("resident:"):
        return f"resident:{reference}"
    return masked_recipient(key)


def masked_dedup_key(key: str, reference: str | None = None) -> str:
    """A delivery's `event|recipient|channel` key with its recipient as
    `resident_recipient` gives it."""
    parts = key.split("|")
    return "|".join(resident_recipient(part, reference) for part in parts)


def report_reference(envelope: dict[str, Any]) -> tuple[str, str] | None:
    """(work order id, resident reference) of a sealed `workorder.reported` envelope."""
    data = envelope.get("data")
    reporter = data.get("reporter") if isinstance(data, dict) else None
    reference = reporter.get("resident") if isinstance(reporter, dict) else None
    subject = envelope.get("subject")
    if isinstance(reference, str) and reference and isinstance(subject, str):
        return subject, reference
    return None


def masked_notification(envelope: dict[str, Any]) -> dict[str, Any]:
    """A notification event's envelope (notify's outbox) with its recipient masked."""
    data = envelope.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("recipient"), str):
        return envelope
    return {**envelope, "data": {**data, "recipient": masked_recipient(data["recipient"])}}
