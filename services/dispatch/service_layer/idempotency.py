"""`Idempotency-Key`: the caller's repeated command returns its first result, appends nothing."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from services.dispatch.domain.commands import Command
from services.dispatch.domain.workorder import authorize_replay
from services.dispatch.service_layer.context import CommandContext, Outcome
from services.dispatch.service_layer.ports import EventStore, IdempotencyRecord
from shared.errors import InvalidInput
from shared.logging import get_logger

log = get_logger(__name__)


def fingerprint(command: Command, target: str | None, key: bytes | None = None) -> str:
    """What the key promises to mean: the command, its target and its body.

    With `key`, an HMAC under it: a command holding a resident's personal data (a report)
    must not leave a plain hash of it in the stored record, which anyone with the
    database could test guesses of the masked digits against."""
    payload = orjson.dumps(command.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    message = f"{command.name}:{target or ''}:".encode() + payload
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


async def earlier_outcome(
    store: EventStore, ctx: CommandContext, command: Command, command_fingerprint: str
) -> Outcome | None:
    """The first result of the caller's key, if the caller already ran this command.

    Keys are the caller's own (tenant and subject): another caller's same key is not
    found here, and their command runs as a new one. Call this only after checking that
    the caller may see the command's work order or project (`NotFound` otherwise), so a replay
    never shows what a plain read would not; the caller's role is checked here.
    """
    key = ctx.idempotency_key
    if key is None:
        return None
    principal = ctx.principal
    earlier = await store.idempotent_result(principal.tenant, principal.subject, key)
    if earlier is None:
        return None
    authorize_replay(command, ctx.actor)
    return replayed(earlier, command_fingerprint)


def replayed(earlier: IdempotencyRecord, command_fingerprint: str) -> Outcome:
    """The stored first result, refusing a key reused for a different command."""
    log.info("command.replayed", idempotency_key=earlier.key, stream_id=earlier.stream_id)
    if earlier.fingerprint != command_fingerprint:
        raise InvalidInput(
            f"Idempotency-Key {earlier.key!r} was already used for a different command",
            code="idempotency_key_reused",
        )
    version = int(earlier.response.get("version", 0))
    return Outcome(earlier.effect, earlier.response, version, replayed=True)
