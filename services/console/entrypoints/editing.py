"""What every configuration form of the console shares: its problems in the user's words.

A form is shown again, with what was typed, when the console cannot read it
(`FormProblem`) or when the service behind refuses it; an outage or an expired
sign-in still goes to the error page (`UpstreamError` raised on).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TypeVar

from services.console.domain.setup_forms import FormProblem
from services.console.entrypoints.labels import N_
from services.console.entrypoints.web import Visit
from services.console.service_layer.ports import UpstreamError

T = TypeVar("T")

STALE = N_(
    "Someone changed this meanwhile; the page shows it as it is now. Make your change again."
)
STALE_CODES = frozenset({"configuration_changed", "concurrency_conflict", "precondition_failed"})
"""The services' codes of a write refused because the version read before moved."""

REFUSED: Mapping[str, str] = {
    "dispatch": N_("dispatch refused: %(detail)s"),
    "notify": N_("notify refused: %(detail)s"),
}

FORM_PROBLEMS: Mapping[str, str] = {
    "whole_number": N_("Give a whole number from %(low)s to %(high)s."),
    "pick_one": N_("Pick one of the choices."),
    "tick_project": N_("Tick at least one project."),
    "give_name": N_("Give the name."),
    "bad_id": N_("An id is letters, digits, dots, dashes and underscores only."),
    "time_window": N_("A time window runs from HH:MM to a later HH:MM."),
    "shift_members": N_("Tick the people of each shift."),
    "shift_hours": N_("A daily or working-days shift needs its hours."),
    "date": N_("Give a date."),
    "hours_minutes": N_("Give hours and minutes as whole numbers (minutes below 60)."),
    "positive_target": N_("A target is longer than zero."),
    "give_target": N_("Give the target."),
    "tick_channel": N_("Tick at least one channel."),
}
"""The words of each `FormProblem` code."""

FIELD_PROBLEM = N_("%(field)s: %(problem)s")


def form_problem(visit: Visit, problem: FormProblem, labels: Mapping[str, str]) -> str:
    """A field the console could not read, in the user's words, after the field's label
    (`labels`: the form's field names and their message ids; a field not among them is
    matched by its last part, `shift2-name` by `name`)."""
    words = visit.gettext(FORM_PROBLEMS.get(problem.code, FORM_PROBLEMS["pick_one"]))
    if problem.params:
        words = words % problem.params
    label = labels.get(problem.field) or labels.get(problem.field.rsplit("-", 1)[-1])
    if label is None:
        return words
    return visit.gettext(FIELD_PROBLEM, field=visit.gettext(label), problem=words)


async def refusal(visit: Visit, call: Awaitable[T]) -> tuple[T | None, str | None]:
    """The answer of `call`, or the service's refusal in the user's words (4xx but 401);
    a write refused because someone changed the thing meanwhile says so."""
    try:
        return await call, None
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        if exc.status == 412 or (exc.status == 409 and exc.code in STALE_CODES):
            return None, visit.gettext(STALE)
        words = REFUSED.get(exc.service, REFUSED["dispatch"])
        return None, visit.gettext(words, detail=exc.detail)
