"""The partitions of EVENTS a rebuild replays side by side, one worker process each.

Events are published on `events.<tenant>.<project>.<aggregate>.<event>`, and every event
of a work order (and of a project's own stream) carries the same tenant and project, so a
set of `events.<tenant>.<project>.>` filters keeps each stream whole in one partition, in
stream order. JetStream filters on the server: a worker reads only its own messages. The
stream's per-subject counts, taken in the same answer as its last sequence, balance the
partitions by events (largest project first, each to the lightest partition) and tell each
worker how many messages it has to read. A project is the smallest unit: one project
with most of the events keeps most of the work in one worker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from nats.js import JetStreamContext

from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS


@dataclass(frozen=True)
class Partition:
    """Some projects' events: the filter subjects that select them, and how many there are
    up to the plan's last sequence."""

    filters: tuple[str, ...]
    events: int


@dataclass(frozen=True)
class ReplayPlan:
    """Stream sequences `first..last` of EVENTS, split into partitions."""

    first: int
    last: int
    partitions: tuple[Partition, ...]

    @property
    def events(self) -> int:
        """Messages to replay in all."""
        return sum(p.events for p in self.partitions)


def group_of(subject: str) -> str:
    """The filter subject that selects `subject`'s project: `events.<tenant>.<project>.>`;
    a subject without aggregate and event (never published by the services) stands alone."""
    tokens = subject.split(".")
    if len(tokens) < 4:
        return subject
    return ".".join(tokens[:3]) + ".>"


def split(counts: dict[str, int], workers: int) -> tuple[Partition, ...]:
    """Group `counts` (messages by subject) by project and deal the groups out to at most
    `workers` partitions, the largest first to the lightest; deterministic."""
    groups: Counter[str] = Counter()
    for subject, n in counts.items():
        groups[group_of(subject)] += n
    bins: list[tuple[list[str], list[int]]] = [([], [0]) for _ in range(max(1, workers))]
    for group, n in sorted(groups.items(), key=lambda g: (-g[1], g[0])):
        filters, load = min(bins, key=lambda b: b[1][0])
        filters.append(group)
        load[0] += n
    return tuple(Partition(tuple(sorted(filters)), load[0]) for filters, load in bins if filters)


async def plan(js: JetStreamContext, workers: int) -> ReplayPlan:
    """Split EVENTS as it stands now into at most `workers` partitions.

    When the subjects listed do not add up to the stream's messages (the server pages very
    long lists), the stream is replayed as one partition.
    """
    info = await js.stream_info(EVENTS_STREAM, subjects_filter=EVENTS_SUBJECTS)
    state = info.state
    first, last = int(state.first_seq), int(state.last_seq)
    counts = state.subjects or {}
    if state.messages == 0 or last < first:
        return ReplayPlan(first, last, ())
    if sum(counts.values()) != state.messages or workers <= 1:
        return ReplayPlan(first, last, (Partition((EVENTS_SUBJECTS,), int(state.messages)),))
    return ReplayPlan(first, last, split(counts, workers))
