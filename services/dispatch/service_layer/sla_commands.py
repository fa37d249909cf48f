"""`recalculate-sla`: move a work order's running clocks to the tenant's current policy.

A newly published policy version reaches new clocks by itself; running clocks change only
through this command, so every moved deadline is an event a person asked for.
"""

from __future__ import annotations

from services.dispatch.domain.commands import RecalculateSla
from services.dispatch.domain.sla import POLICY_CHANGED, evolve_sla, fold_sla, recalculate
from services.dispatch.domain.workorder import authorize, evolve
from services.dispatch.service_layer.append import Answer, Stream, append_decided
from services.dispatch.service_layer.context import CommandContext, Effect, Outcome
from services.dispatch.service_layer.idempotency import earlier_outcome, fingerprint
from services.dispatch.service_layer.ports import EventStore, StreamTimers
from services.dispatch.service_layer.sla import SlaPolicies, policies_for, timer_rows
from services.dispatch.service_layer.work_orders import load_work_order, work_order_body
from shared.events.base import EventData
from shared.logging import get_logger

log = get_logger(__name__)


async def recalculate_sla(
    store: EventStore,
    policies: SlaPolicies,
    work_order_id: str,
    command: RecalculateSla,
    ctx: CommandContext,
) -> Outcome:
    """Recalculate the work order's running clocks on the current policy, keeping elapsed time.

    Clocks whose schedule would not change emit nothing, so a repeat is harmless; the
    response names the policy version and the events appended.
    """
    loaded = await load_work_order(store, work_order_id, ctx.principal)
    command_fingerprint = fingerprint(command, work_order_id)
    replay = await earlier_outcome(store, ctx, command, command_fingerprint)
    if replay is not None:
        return replay
    state = loaded.state
    authorize(command, ctx.actor, state)
    ctx.ensure_current(state.version)
    sla = fold_sla(loaded.history)
    book = await policies_for(policies, loaded.tenant, loaded.project, sla)
    policy = book.current
    events: list[EventData] = []
    for event in recalculate(
        sla, book, state, ctx.now, project=loaded.project, reason=POLICY_CHANGED
    ):
        sla = evolve_sla(sla, event, ctx.now)
        state = evolve(state, event, ctx.now)
        events.append(event)
    log.info(
        "sla.recalculated",
        work_order_id=work_order_id,
        policy_version=policy.version,
        events=len(events),
        reason=command.reason,
    )
    body = {
        **work_order_body(loaded.id, loaded.tenant, loaded.project, state),
        "policy_version": policy.version,
        "events": [type(e).type_name for e in events],
    }
    if not events:
        # Nothing moves: no empty append, no timers to replace (they are already these).
        return Outcome(Effect.UNCHANGED, {**body, "version": state.version}, state.version)
    stream = Stream(loaded.id, loaded.tenant, loaded.project, loaded.state.version)
    answer = Answer(Effect.APPLIED, body, command_fingerprint)
    timers = StreamTimers(timer_rows(sla, book, loaded.id))
    return await append_decided(store, stream, events, ctx, answer, (timers,))
