"""Notification outcomes (通知): how notify's deliveries fared, per channel and template.

notify publishes `notification.sent|failed|deferred|dead|unreached` on a stream per
delivery (`notification:<delivery id>`, `sequence` counting its events). Each event is one
outcome at an instant; the stream positions make the fold idempotent like every other one.
A delivery ends `sent`, `dead` (the channel gave up) or `unreached` (an escalation whose
route found nobody to tell: no contact, no channel), so the delivery rate of a period is
sent / (sent + dead + unreached) over the terminal outcomes in it; `failed` (one failed
attempt, retried) and `deferred` (quiet hours) are counted beside it.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.reporting.domain.facts import EventFact

SENT, FAILED, DEFERRED, DEAD, UNREACHED = "sent", "failed", "deferred", "dead", "unreached"
OUTCOMES = (SENT, FAILED, DEFERRED, DEAD, UNREACHED)
ENDED_UNDELIVERED = (DEAD, UNREACHED)
"""The outcomes that end a delivery without anyone having been told."""
NO_VALUE = "none"
"""The channel (or template) an unreached delivery is counted under when it names none:
nobody was reached, so no channel may have been chosen."""
NOTIFICATION_TYPES = {f"notification.{o}": o for o in OUTCOMES}
"""Event type → the outcome it records."""
DELIVERY_RATE_TARGET: float | None = None
"""The group's standard sets no target for deliveries; the figure is operational."""


@dataclass(frozen=True)
class NotificationOutcome:
    """One notification event: a delivery's outcome at an instant."""

    stream_id: str
    sequence: int
    tenant: str
    project: str
    delivery_id: str
    channel: str
    template: str
    outcome: str
    at: datetime
    work_order_id: str | None = None


def outcome_of(event: EventFact) -> NotificationOutcome | None:
    """The outcome a notification event records; None for every other event."""
    outcome = NOTIFICATION_TYPES.get(event.type_name)
    if outcome is None:
        return None
    data = event.data
    return NotificationOutcome(
        stream_id=event.order_id,
        sequence=event.sequence,
        tenant=event.tenant,
        project=event.project,
        delivery_id=str(data["delivery_id"]),
        channel=str(data.get("channel") or NO_VALUE),
        template=str(data.get("template") or NO_VALUE),
        outcome=outcome,
        at=event.time,
        work_order_id=data.get("work_order_id"),
    )


@dataclass(frozen=True)
class OutcomeCounts:
    """How many events of each outcome."""

    counts: Mapping[str, int] = field(default_factory=dict)

    def of(self, outcome: str) -> int:
        """The count of one outcome (0 when none)."""
        return self.counts.get(outcome, 0)

    @property
    def delivery_rate(self) -> float | None:
        """sent / (sent + dead + unreached); None when no delivery ended in the period."""
        ended = self.of(SENT) + sum(self.of(o) for o in ENDED_UNDELIVERED)
        return self.of(SENT) / ended if ended else None


@dataclass(frozen=True)
class NotificationFigures:
    """The outcomes of a scope and period, in all and per channel and per template."""

    total: OutcomeCounts
    by_channel: Mapping[str, OutcomeCounts]
    by_template: Mapping[str, OutcomeCounts]


def notification_figures(rows: Iterable[tuple[str, str, str, int]]) -> NotificationFigures:
    """Figures from counted rows (channel, template, outcome, count)."""
    total: dict[str, int] = {}
    channels: dict[str, dict[str, int]] = {}
    templates: dict[str, dict[str, int]] = {}
    for channel, template, outcome, n in rows:
        for bucket in (total, channels.setdefault(channel, {}), templates.setdefault(template, {})):
            bucket[outcome] = bucket.get(outcome, 0) + n
    return NotificationFigures(
        total=OutcomeCounts(total),
        by_channel={k: OutcomeCounts(v) for k, v in sorted(channels.items())},
        by_template={k: OutcomeCounts(v) for k, v in sorted(templates.items())},
    )
