"""Sealing a report's personal data before it is stored, and opening it for an answer.

A `workorder.reported` event leaves dispatch in the sealed shape (docs/events.md,
"Personal data"): the reporter named by a pseudonymous reference (`reporter.resident`),
their name, phone, unit and detail as masks, and the clear values as tokens under
`sealed`, each sealed under the resident's own data key so that destroying the key
erases them everywhere at once. Only an answer to someone entitled to the clear values
opens the tokens again (`service_layer.access_log.disclose`).
"""

from __future__ import annotations

from typing import Any

from services.dispatch.domain.workorder import (
    ERASED,
    FIELDS,
    RESIDENT,
    SEALED,
    clear_values,
    is_sealed,
    masked,
    reporter_identity,
    sealed_tokens,
    unsealed,
    with_values,
)
from shared.privacy.fields import Erased, PersonalFields
from shared.privacy.pseudonym import resident_reference


async def seal_report(
    data: dict[str, Any],
    tenant: str,
    work_order_id: str,
    fields: PersonalFields,
    reference_key: bytes,
) -> dict[str, Any]:
    """A report's data (a `workorder.reported` event's, or a work order's representation)
    in the sealed shape: the reporter's reference, masks in place of the clear values and
    the clear values as tokens under `sealed`. Data already sealed is returned as it is.

    `reference_key` is the pseudonym key (`PrivacyKeys.resident_reference`); the
    reference is also the key ring's subject the fields are sealed for.
    """
    if is_sealed(data):
        return data
    reporter = data.get("reporter") or {}
    identity = reporter_identity(reporter.get("phone"), reporter.get("resident_id"), work_order_id)
    reference = resident_reference(reference_key, tenant, identity)
    tokens: dict[str, dict[str, str]] = {"reporter": {}, "location": {}}
    values = clear_values(data)
    for field in FIELDS:
        if field.name in values:
            token = await fields.seal(tenant, reference, field.name, values[field.name])
            tokens[field.section][field.key] = token
    out = masked(data)
    out["reporter"] = {**out.get("reporter", {}), RESIDENT: reference, SEALED: tokens["reporter"]}
    if tokens["location"]:
        out["location"] = {**out.get("location", {}), SEALED: tokens["location"]}
    return out


async def open_report(
    data: dict[str, Any], tenant: str, fields: PersonalFields
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A sealed report's data with its clear values back in place of the masks, without
    its tokens; and the fields found erased (their value shows `ERASED`). Data in clear
    (recorded before sealing) comes back as it is, without tokens.

    Raises `shared.privacy.envelope.UnreadableField` for a token that does not open under
    its resident's key: tampering or a bug, not an erasure.
    """
    tokens = sealed_tokens(data)
    if not is_sealed(data) or not tokens:
        return unsealed(data), ()
    subject = data["reporter"][RESIDENT]
    values: dict[str, str | None] = {}
    erased: list[str] = []
    for name, token in tokens.items():
        value = await fields.open(tenant, subject, name, token)
        if isinstance(value, Erased):
            erased.append(name)
            values[name] = ERASED
        else:
            values[name] = value
    return unsealed(with_values(data, values)), tuple(erased)
