"""Sealing a report's personal data before it is stored, and opening it for an answer.

A `workorder.reported` event leaves dispatch in the sealed shape (docs/events.md,
"Personal data"): the reporter named by a pseudonymous reference (`reporter.resident`),
their name, phone, unit and detail as masks, and the clear values as tokens under
`sealed`, each sealed under the resident's own data key so that destroying the key
erases them everywhere at once. Only an answer to someone entitled to the clear values
opens the tokens again (`service_layer.access_log.disclose`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from services.dispatch.domain.residents import phone_index
from services.dispatch.domain.workorder import (
    ERASED,
    FIELDS,
    RESIDENT,
    SEALED,
    clear_values,
    is_sealed,
    masked,
    sealed_tokens,
    unsealed,
    with_values,
)
from services.dispatch.service_layer.ports import ResidentEntry
from shared.events.base import EventData
from shared.events.workorder import WorkOrderReported
from shared.privacy.derivation import privacy_keys
from shared.privacy.fields import Erased, PersonalFields
from shared.privacy.memory_keyring import InMemoryKeyRing
from shared.privacy.pseudonym import reporter_identity, resident_reference
from shared.privacy.wrapping import LocalKeyWrapper

FINGERPRINT_LABEL = b"workorders/privacy/v1 report fingerprint"


@dataclass(frozen=True)
class Privacy:
    """What dispatch seals and opens residents' data with: one `PersonalFields` over its
    key ring, and the keys derived from `PRIVACY_MASTER_KEY` for the residents'
    references and their phones' blind index. `repr` shows no key."""

    fields: PersonalFields
    reference_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)

    @property
    def fingerprint_key(self) -> bytes:
        """Keys the fingerprint of a report's idempotency record (`idempotency.fingerprint`):
        a subkey of the reference key under its own label, so no key serves two purposes."""
        return hmac.new(self.reference_key, FINGERPRINT_LABEL, hashlib.sha256).digest()

    @classmethod
    def in_memory(cls, master: bytes) -> Privacy:
        """Keys derived from `master` and a key ring in this process's memory: for tests
        and benchmarks that run no database."""
        keys = privacy_keys(master)
        ring = InMemoryKeyRing(LocalKeyWrapper(keys))
        return cls(PersonalFields(ring), keys.resident_reference, keys.blind_index)


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
    for personal in FIELDS:
        if personal.name in values:
            token = await fields.seal(tenant, reference, personal.name, values[personal.name])
            tokens[personal.section][personal.key] = token
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


async def sealed_reported(
    decided: list[EventData], tenant: str, work_order_id: str, privacy: Privacy
) -> tuple[list[EventData], ResidentEntry | None]:
    """`decided` with its report sealed, and the new order's row in the residents' blind
    index (made from the phone in clear, which only the report command holds)."""
    out: list[EventData] = []
    entry = None
    for event in decided:
        if isinstance(event, WorkOrderReported):
            data = event.model_dump(mode="json")
            sealed = await seal_report(
                data, tenant, work_order_id, privacy.fields, privacy.reference_key
            )
            index = phone_index(privacy.index_key, event.reporter.phone)
            entry = ResidentEntry(sealed["reporter"][RESIDENT], index)
            event = WorkOrderReported.model_validate(sealed)
        out.append(event)
    return out, entry
