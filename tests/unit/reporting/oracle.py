"""The oracle: every KPI straight from a raw list of event envelopes (JSON dicts).

Written apart from `services.reporting.domain` on purpose: it shares no code with it, reads
the envelopes as plain dicts, and walks each work order's events in `sequence` order once
per KPI, the way one would work the figures out by hand from docs/kpis.md. Projections
must equal what it says.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _came_in(s: list[Event]) -> datetime:
    """When the order's request came in: the report's `received_at`, else its time."""
    return _ts(s[0]["data"].get("received_at") or s[0]["time"])


class Oracle:
    """KPIs of a raw event list over a set of projects and a local-date period."""

    def __init__(self, events: list[Event]) -> None:
        seen: set[str] = set()
        streams: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            if e["id"] in seen:
                continue
            seen.add(e["id"])
            streams[e["subject"]].append(e)
        self.orders: dict[str, list[Event]] = {}
        self.households: dict[tuple[str, str], int] = {}
        self.zones: dict[tuple[str, str], str] = {}
        for subject, stream in streams.items():
            stream.sort(key=lambda e: e["sequence"])
            if subject.startswith("project:"):
                for e in stream:
                    key = (e["tenant"], e["project"])
                    self.households[key] = e["data"]["details"]["households"]
                    self.zones[key] = e["data"]["details"].get("time_zone", "Asia/Shanghai")
            else:
                self.orders[subject] = stream

    # --- helpers -------------------------------------------------------------------------

    def _inside(self, e0: Event, at: datetime, start: date, end: date) -> bool:
        tz = ZoneInfo(self.zones.get((e0["tenant"], e0["project"]), "Asia/Shanghai"))
        low = datetime.combine(start, time(0), tz)
        high = datetime.combine(end, time(0), tz)
        return low <= at < high

    def _orders(self, projects: set[tuple[str, str]]) -> list[list[Event]]:
        return [
            s
            for s in self.orders.values()
            if s[0]["type"] == "workorder.reported.v1"
            and (s[0]["tenant"], s[0]["project"]) in projects
        ]

    @staticmethod
    def _of(stream: list[Event], type_name: str) -> list[Event]:
        return [e for e in stream if e["type"] == f"workorder.{type_name}.v1"]

    @staticmethod
    def _kind(stream: list[Event]) -> str:
        return str(stream[0]["data"]["kind"])

    def _clock_events(self, stream: list[Event], clock: str) -> list[Event]:
        """The events of the clock's first cycle (the lowest number it ran with)."""
        of_clock = [
            e
            for e in stream
            if e["type"].startswith("workorder.sla_") and e["data"].get("clock") == clock
        ]
        first = min((e["data"]["cycle"] for e in of_clock), default=None)
        return [e for e in of_clock if e["data"]["cycle"] == first]

    # --- the KPIs ------------------------------------------------------------------------

    def ratio(
        self, kpi: str, projects: set[tuple[str, str]], start: date, end: date
    ) -> tuple[int, int]:
        """(numerator, denominator) of a ratio KPI."""
        hits = total = 0
        for s in self._orders(projects):
            for at, hit in self._units(kpi, s):
                if self._inside(s[0], at, start, end):
                    total += 1
                    hits += hit
        if kpi == "complaint_rate":
            total = sum(self.households.get(p, 0) for p in projects)
        return hits, total

    def count(self, kpi: str, projects: set[tuple[str, str]], start: date, end: date) -> int:
        """A counting KPI (breaches, missed with consent)."""
        return self.ratio(kpi, projects, start, end)[0]

    def durations(
        self, kpi: str, projects: set[tuple[str, str]], start: date, end: date
    ) -> list[float]:
        """The sorted measurements of a duration KPI."""
        first = {"time_to_arrive": "arrived", "time_to_feedback": "feedback_given",
                 "time_to_resolve": "completed"}[kpi]  # fmt: skip
        found = []
        for s in self._orders(projects):
            hits = self._of(s, first)
            if hits:
                at = _ts(hits[0]["time"])
                if self._inside(s[0], at, start, end):
                    found.append((at - _came_in(s)).total_seconds())
        return sorted(found)

    def notifications(
        self, projects: set[tuple[str, str]], start: date, end: date
    ) -> dict[str, dict[str, int]]:
        """Notification events in the period per channel and outcome (each event once)."""
        found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for subject, stream in self.orders.items():
            if not subject.startswith("notification:"):
                continue
            for e in stream:
                if (e["tenant"], e["project"]) not in projects:
                    continue
                if self._inside(e, _ts(e["time"]), start, end):
                    outcome = e["type"].split(".")[1]
                    found[e["data"]["channel"]][outcome] += 1
        return {k: dict(v) for k, v in found.items()}

    def backlog(self, projects: set[tuple[str, str]]) -> int:
        """Open orders now."""
        closing = {"completed", "closed", "cancelled"}
        count = 0
        for s in self._orders(projects):
            last_state = "reported"
            for e in s:
                name = e["type"].split(".")[1]
                if name in closing or name == "reopened":
                    last_state = name
            count += last_state not in closing
        return count

    def _timeliness(self, s: list[Event]) -> list[tuple[datetime, int]]:
        """A repair fails at its first breach of arrival or resolution (first cycles), open
        or not; else it is judged when both concluded (resolution met), at the later end."""
        arrival = self._clock_events(s, "arrival")
        resolution = self._clock_events(s, "resolution")
        breached = [
            _ts(e["data"]["due_at"])
            for e in arrival + resolution
            if e["type"] == "workorder.sla_clock_breached.v1"
        ]
        if breached:
            return [(min(breached), 0)]
        ends = ("workorder.sla_clock_met.v1", "workorder.sla_clock_cancelled.v1")
        res = [e for e in resolution if e["type"] == "workorder.sla_clock_met.v1"]
        arr = [e for e in arrival if e["type"] in ends]
        if not res or (arrival and not arr):
            return []
        good = True
        for e in res + arr:
            met = e["type"] == "workorder.sla_clock_met.v1"
            good = good and met and e["data"]["on_time"] and not e["data"]["missed_with_consent"]
        return [(max(_ts(e["time"]) for e in res + arr), int(good))]

    def _units(self, kpi: str, s: list[Event]) -> list[tuple[datetime, int]]:
        kind = self._kind(s)
        completed = [_ts(e["time"]) for e in self._of(s, "completed")]
        reopened = [_ts(e["time"]) for e in self._of(s, "reopened")]
        if kpi == "repair_timeliness":
            return self._timeliness(s) if kind == "repair" else []
        valid = None
        for e in self._of(s, "complaint_validity_marked"):
            valid = e["data"]["valid"]
        if kpi == "complaints_handled":
            return [(_came_in(s), int(bool(completed)))] if kind == "complaint" and valid else []
        if kpi == "complaint_rate":
            return [(_came_in(s), 1)] if kind == "complaint" and valid else []
        if kpi == "follow_up_rate":
            if kind != "repair" or not completed:
                return []
            return [(completed[0], int(bool(self._of(s, "follow_up_recorded"))))]
        if kpi == "satisfaction":
            # The last rating of the order counts, in the period it was given.
            visits = self._of(s, "follow_up_recorded")
            return (
                [(_ts(visits[-1]["time"]), int(visits[-1]["data"]["rating"] >= 4))]
                if visits
                else []
            )
        if kpi == "repair_quality":
            if kind != "repair":
                return []
            units = []
            for c in completed:
                later = [r for r in reopened if r >= c]
                failed = bool(later) and later[0] - c <= timedelta(days=30)
                units.append((c, int(not failed)))
            return units
        if kpi == "sla_breaches":
            return [
                (_ts(e["data"]["due_at"]), 1)
                for e in s
                if e["type"] == "workorder.sla_clock_breached.v1"
            ]
        if kpi == "missed_with_consent":
            return [
                (_ts(e["time"]), 1)
                for e in s
                if e["type"] == "workorder.sla_clock_met.v1" and e["data"]["missed_with_consent"]
            ]
        if kpi == "postponement_rate":
            return [(_came_in(s), int(bool(self._of(s, "postponed"))))]
        if kpi == "reopen_rate":
            return (
                [(completed[0], int(any(r >= completed[0] for r in reopened)))] if completed else []
            )
        if kpi == "first_contact_resolution":
            if not completed:
                return []
            clean = not (
                self._of(s, "reassigned")
                or self._of(s, "appointment_missed")
                or self._of(s, "postponed")
                or reopened
            )
            return [(completed[0], int(clean))]
        raise KeyError(kpi)


def nearest_rank(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile, computed the textbook way."""
    if not values:
        return None
    return values[math.ceil(p / 100 * len(values)) - 1] if p > 0 else values[0]
