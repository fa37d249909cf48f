"""`Idempotency-Key`: a repeated command returns its first result and appends nothing."""

from __future__ import annotations

import hashlib

import orjson

from services.dispatch.domain.commands import Command
from services.dispatch.service_layer.context import Outcome
from services.dispatch.service_layer.ports import EventStore, IdempotencyRecord
from shared.errors import InvalidInput
from shared.logging import get_logger

log = get_logger(__name__)


def fingerprint(command: Command, target: str | None) -> str:
    """What the key promises to mean: the command, its target and its body."""
    payload = orjson.dumps(command.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(f"{command.name}:{target or ''}:".encode() + payload).hexdigest()


async def earlier_outcome(
    store: EventStore, tenant: str, key: str | None, command_fingerprint: str
) -> Outcome | None:
    """The first result of this key, if the command was already run."""
    if key is None:
        return None
    earlier = await store.idempotent_result(tenant, key)
    return replayed(earlier, command_fingerprint) if earlier is not None else None


def replayed(earlier: IdempotencyRecord, command_fingerprint: str) -> Outcome:
    """The stored first result, refusing a key reused for a different command."""
    log.info("command.replayed", idempotency_key=earlier.key, stream_id=earlier.stream_id)
    if earlier.fingerprint != command_fingerprint:
        raise InvalidInput(
            f"Idempotency-Key {earlier.key!r} was already used for a different command",
            code="idempotency_key_reused",
        )
    version = int(earlier.response.get("version", 0))
    return Outcome(earlier.status_code, earlier.response, version, replayed=True)
