"""The work order (工单): its state, the lifecycle rules that decide commands, its number.

`decide(state, command, actor, now)` checks the actor's permission and the current status
and returns the events; `evolve`/`fold` build the state from them. The role matrix
(`authorize`, `can_read`, the list scopes) lives here because it is about which orders a
person may act on; projects use the same `Actor` and `authorize`.
"""

from services.dispatch.domain.workorder.lifecycle import decide
from services.dispatch.domain.workorder.numbering import (
    NUMBER_PATTERN,
    Numbering,
    is_order_number,
    local_day,
    order_number,
    project_code,
)
from services.dispatch.domain.workorder.permissions import (
    Actor,
    at_risk_scope,
    authorize,
    authorize_replay,
    can_read,
    list_scope,
)
from services.dispatch.domain.workorder.personal_data import (
    ERASED,
    FIELDS,
    PERSONAL_FIELDS,
    RESIDENT,
    SEALED,
    OrderFacts,
    PersonalField,
    Sight,
    View,
    clear_values,
    facts_of,
    is_sealed,
    masked,
    sealed_tokens,
    shown_fields,
    sight,
    unsealed,
    with_values,
)
from services.dispatch.domain.workorder.state import (
    OPEN_STATUSES,
    Status,
    UnfoldableEvent,
    WorkOrderState,
    evolve,
    fold,
)

__all__ = [
    "ERASED",
    "FIELDS",
    "NUMBER_PATTERN",
    "OPEN_STATUSES",
    "PERSONAL_FIELDS",
    "RESIDENT",
    "SEALED",
    "Actor",
    "Numbering",
    "OrderFacts",
    "PersonalField",
    "Sight",
    "Status",
    "UnfoldableEvent",
    "View",
    "WorkOrderState",
    "at_risk_scope",
    "authorize",
    "authorize_replay",
    "can_read",
    "clear_values",
    "decide",
    "evolve",
    "facts_of",
    "fold",
    "is_order_number",
    "is_sealed",
    "list_scope",
    "local_day",
    "masked",
    "order_number",
    "project_code",
    "sealed_tokens",
    "shown_fields",
    "sight",
    "unsealed",
    "with_values",
]
