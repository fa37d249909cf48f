"""A resident's personal data over time (个人信息权利): erasure, correction and retention.

A resident (by their pseudonymous reference) has a stream of their own: the erasures and
corrections of their data. `fold_record` reads it; `erasure` decides whether an erasure
asked for now is a new one or the replay of the last; `retention_due` says when a
resident's data is due for erasure after their orders ended.
"""

from services.dispatch.domain.privacy.record import (
    ResidentRecord,
    erasure,
    fold_record,
    is_erased,
    resident_stream_id,
)
from services.dispatch.domain.privacy.retention import (
    ENDED_STATUSES,
    ended_before,
    retention_due,
)

__all__ = [
    "ENDED_STATUSES",
    "ResidentRecord",
    "ended_before",
    "erasure",
    "fold_record",
    "is_erased",
    "resident_stream_id",
    "retention_due",
]
