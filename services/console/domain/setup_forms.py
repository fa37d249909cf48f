"""The supervisor's configuration forms read back: posted fields into the APIs' bodies.

Every form is flat (`name=value` pairs, a checkbox per choice named `<group>-<value>`),
so a browser without script posts it and a keyboard fills it in. These functions turn
those pairs into the JSON the services take, and say in a `FormProblem` which field was
wrong; what a service then refuses is its own word, shown on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

Json = dict[str, Any]

STAFF_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
TEAM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SLUG = re.compile(r"^[a-z0-9_-]{1,64}$")
"""A project's or a trade's name as the services write it."""
CATEGORY = re.compile(r"^(\*|[a-z0-9_-]{1,64})$")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STAFF_ROLES = ("technician", "supervisor", "dispatcher", "customer_service", "project_manager")
DISPATCH_MODES = ("auto", "grab", "manual")
CALENDAR_KINDS = ("always", "daily", "working_days")
MAX_SHIFTS = 12


class FormProblem(ValueError):
    """A field the form cannot send: `field` names it, `code` says what is wrong (the
    pages word it), `params` fill the words in."""

    def __init__(self, field: str, code: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.params = params


def checked(form: Mapping[str, str], group: str) -> list[str]:
    """The values of the checkboxes `<group>-<value>` that were ticked, sorted."""
    prefix = f"{group}-"
    return sorted(k[len(prefix) :] for k, v in form.items() if k.startswith(prefix) and v == "on")


def text(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    """A one-line answer, trimmed (line breaks become spaces)."""
    return " ".join(form.get(name, "").split())[:limit]


def _required(form: Mapping[str, str], name: str, message: str, limit: int = 200) -> str:
    value = text(form, name, limit)
    if not value:
        raise FormProblem(name, message)
    return value


def whole(form: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """A whole number between `low` and `high`, None when left empty."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise FormProblem(name, "whole_number", low=low, high=high)
    return int(raw)


def one_of(form: Mapping[str, str], name: str, choices: Iterable[str]) -> str:
    """The answer of a list, which must be one of its `choices`."""
    value = form.get(name, "")
    if value not in tuple(choices):
        raise FormProblem(name, "pick_one")
    return value


def staff_record(form: Mapping[str, str], teams: Iterable[str], projects: Iterable[str]) -> Json:
    """`PUT /v1/staff/{id}`'s body from the person form."""
    covered = [p for p in checked(form, "project") if p in tuple(projects)]
    if not covered:
        raise FormProblem("projects", "tick_project")
    record: Json = {
        "name": _required(form, "name", "give_name"),
        "role": one_of(form, "role", STAFF_ROLES),
        "team": one_of(form, "team", teams),
        "trades": checked(form, "trade"),
        "projects": covered,
        "buildings": checked(form, "building"),
    }
    limit = whole(form, "max_open_orders", 1, 100)
    if limit is not None:
        record["max_open_orders"] = limit
    return record


def team_record(form: Mapping[str, str], projects: Iterable[str]) -> Json:
    """`PUT /v1/teams/{id}`'s body from the team form."""
    covered = [p for p in checked(form, "project") if p in tuple(projects)]
    if not covered:
        raise FormProblem("projects", "tick_project")
    return {
        "name": _required(form, "name", "give_name"),
        "trades": checked(form, "trade"),
        "projects": covered,
        "supervisors": checked(form, "supervisor"),
    }


def new_id(form: Mapping[str, str], pattern: re.Pattern[str]) -> str:
    """The id typed for a new person or team."""
    value = form.get("id", "").strip()
    if not pattern.match(value):
        raise FormProblem("id", "bad_id")
    return value


def dispatch_rule(form: Mapping[str, str]) -> Json:
    """`PUT .../dispatch-rules/{category}`'s body from the rule form."""
    trade = form.get("trade", "")
    if not SLUG.match(trade):
        raise FormProblem("trade", "pick_one")
    rule: Json = {"mode": one_of(form, "mode", DISPATCH_MODES), "trade": trade}
    for name, low, high, scale in (
        ("load_limit", 1, 100, 1),
        ("offer_minutes", 1, 1440, 60),
        ("max_attempts", 1, 20, 1),
    ):
        value = whole(form, name, low, high)
        if value is not None:
            rule["offer_seconds" if name == "offer_minutes" else name] = value * scale
    return rule


def _windows(form: Mapping[str, str], prefix: str) -> list[list[str]]:
    windows = []
    for n in (1, 2):
        start = form.get(f"{prefix}start{n}", "").strip()
        end = form.get(f"{prefix}end{n}", "").strip()
        if not start and not end:
            continue
        if not (TIME.match(start) and TIME.match(end)) or end <= start:
            raise FormProblem(f"{prefix}start{n}", "time_window")
        windows.append([start, end])
    return windows


def shift(
    form: Mapping[str, str], n: int, teams: Iterable[str], before: Json | None
) -> Json | None:
    """Shift `n` of the roster form (None: left blank or ticked for removal).

    What the form does not show of an existing shift's calendar (its zone, closures) is
    kept from `before`.
    """
    p = f"shift{n}-"
    if form.get(f"{p}remove") == "on" or not text(form, f"{p}name"):
        return None
    members = checked(form, f"{p}member")
    if not members:
        raise FormProblem(f"{p}name", "shift_members")
    kind = one_of(form, f"{p}kind", CALENDAR_KINDS)
    calendar: Json = {**((before or {}).get("calendar") or {}), "kind": kind}
    windows = _windows(form, p)
    if kind == "always":
        calendar.pop("windows", None)
    elif not windows:
        raise FormProblem(f"{p}start1", "shift_hours")
    else:
        calendar["windows"] = windows
    cycle = whole(form, f"{p}cycle_days", 1, 28) or 1
    days = [int(d) for d in checked(form, f"{p}day") if d.isdigit() and int(d) < cycle]
    anchor = form.get(f"{p}anchor", "").strip()
    if anchor and not DATE.match(anchor):
        raise FormProblem(f"{p}anchor", "date")
    body: Json = {
        "name": text(form, f"{p}name", 64),
        "team": one_of(form, f"{p}team", teams),
        "members": members,
        "calendar": calendar,
        "cycle_days": cycle,
        "on_days": days or [0],
    }
    if anchor:
        body["anchor"] = anchor
    return body


def roster(form: Mapping[str, str], teams: Iterable[str], before: Json) -> Json:
    """`PUT /v1/projects/{project}/roster`'s body from the roster form."""
    old = list(before.get("shifts") or [])
    shifts = []
    for n in range(MAX_SHIFTS):
        if f"shift{n}-name" not in form:
            continue
        found = shift(form, n, tuple(teams), old[n] if n < len(old) else None)
        if found is not None:
            shifts.append(found)
    receiver = form.get("receiver", "").strip()
    return {
        "shifts": shifts,
        "on_call": checked(form, "oncall"),
        "receiver": receiver or None,
    }


def duration(hours: str, minutes: str, field: str) -> timedelta | None:
    """Hours and minutes typed apart (either may be empty), None when both are."""
    h, m = hours.strip(), minutes.strip()
    if not h and not m:
        return None
    if not (h or "0").isdigit() or not (m or "0").isdigit() or int(m or 0) > 59:
        raise FormProblem(field, "hours_minutes")
    total = timedelta(hours=int(h or 0), minutes=int(m or 0))
    if total <= timedelta(0):
        raise FormProblem(field, "positive_target")
    return total


def iso_duration(value: timedelta) -> str:
    """An ISO 8601 duration (`PT1H30M`), as the APIs take durations."""
    seconds = int(value.total_seconds())
    return f"PT{seconds // 3600}H{seconds % 3600 // 60}M" if seconds % 60 == 0 else f"PT{seconds}S"


def sla_draft(form: Mapping[str, str], current: Json, projects: Iterable[str]) -> Json:
    """`POST /v1/sla/policies`'s body: the current policy with the form's edits.

    Each clock rule's target, urgent target and calendar come from the form; what the
    form does not show (start and stop events, pauses, escalation) is the current one's.
    """
    calendars = tuple(current.get("calendars") or {})
    clocks = []
    for n, rule in enumerate(current.get("clocks") or []):
        edited = dict(rule)
        edited["calendar"] = one_of(form, f"rule{n}-calendar", calendars)
        if rule.get("target") != "commitment":
            target = duration(
                form.get(f"rule{n}-hours", ""), form.get(f"rule{n}-minutes", ""), f"rule{n}-hours"
            )
            if target is None:
                raise FormProblem(f"rule{n}-hours", "give_target")
            edited["target"] = iso_duration(target)
        urgent = duration(
            form.get(f"rule{n}-urgenthours", ""),
            form.get(f"rule{n}-urgentminutes", ""),
            f"rule{n}-urgenthours",
        )
        edited["urgent_target"] = None if urgent is None else iso_duration(urgent)
        clocks.append(edited)
    thresholds = []
    for n in range(4):
        percent = whole(form, f"warning{n}", 1, 99)
        if percent is not None:
            thresholds.append(percent / 100)
    draft = {k: v for k, v in current.items() if k not in ("version", "projects")}
    draft["clocks"] = clocks
    draft["warning_thresholds"] = sorted(set(thresholds))
    scope = [p for p in checked(form, "project") if p in tuple(projects)]
    if scope:
        draft["projects"] = scope
    return draft


def parse_duration(value: object) -> timedelta | None:
    """An API's ISO 8601 duration (`PT3M`, `P2D`, `PT1H30M`) as a timedelta."""
    if not isinstance(value, str):
        return None
    found = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value)
    if found is None or value in ("P", "PT"):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def hours_minutes(value: object) -> tuple[str, str]:
    """A duration as the form's hours and minutes ("", "" for none)."""
    found = parse_duration(value)
    if found is None:
        return "", ""
    minutes = int(found.total_seconds()) // 60
    return str(minutes // 60), str(minutes % 60)


def clock_time(value: str | None) -> str:
    """`HH:MM` of a notify time (`08:00:00`)."""
    return (value or "")[:5]


def notify_settings(form: Mapping[str, str], current: Json, channels: Iterable[str]) -> Json:
    """`PUT /v1/notify-settings`'s body from the settings form."""
    start, end = form.get("day_start", "").strip(), form.get("day_end", "").strip()
    if not (TIME.match(start) and TIME.match(end)) or end <= start:
        raise FormProblem("day_start", "time_window")
    blocked = [{"start": s, "end": e} for s, e in _windows(form, "blocked-")]
    threshold = whole(form, "digest_threshold", 1, 1000)
    minutes = whole(form, "digest_minutes", 1, 1440)
    operator = form.get("operator", "").strip()
    picked = [c for c in checked(form, "resident") if c in tuple(channels)]
    if not picked:
        raise FormProblem("resident_channels", "tick_channel")
    return {
        **current,
        "resident_channels": picked,
        "resident_language": one_of(form, "resident_language", ("zh-CN", "en")),
        "quiet_hours": {"day_start": start, "day_end": end, "blocked": blocked},
        "digest": {
            "threshold": threshold or current["digest"]["threshold"],
            "window_seconds": (minutes * 60) if minutes else current["digest"]["window_seconds"],
        },
        "operator": operator or None,
    }
