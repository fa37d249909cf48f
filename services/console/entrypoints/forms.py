"""dispatch's work-order commands as the console's confirmation forms: what each asks for.

A command is one tap and a confirmation page; the page asks for the words the command
needs (a reason, a note, a rating) and nothing else. This module says, per command, which
fields the page shows, which must be filled in, and how the answers become the command's
JSON body. Labels are catalog message ids (`N_`), translated where they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.console.domain import timing
from services.console.entrypoints.labels import N_
from services.console.service_layer.ports import Json
from shared.events.workorder import PauseReason


class Kind(StrEnum):
    """How a field is asked for."""

    TEXT = "text"
    """A few lines of words (a textarea)."""
    CHOICE = "choice"
    """One of `choices` (a list to pick from)."""
    PERSON = "person"
    """One of the people the page offers (a list of names)."""
    INSTANT = "instant"
    """A date and time on the project's wall clock (sent as an instant with its offset)."""


@dataclass(frozen=True)
class Field:
    """One question of a confirmation form.

    `name` is the form field's name (and its element id); `key` the body field it fills.
    """

    name: str
    key: str
    label: str
    kind: Kind = Kind.TEXT
    required: bool = True
    choices: Mapping[str, str] | None = None
    """Value -> message id, for a `CHOICE`."""
    max_length: int = 2000


@dataclass(frozen=True)
class CommandForm:
    """A command's confirmation page: the question, its button, its fields, what it says after."""

    command: str
    """dispatch's URL segment (`hand-back`)."""
    button: str
    question: str
    done: str
    """The note shown afterwards, with `%(order)s`."""
    fields: tuple[Field, ...] = ()


PAUSE_REASONS: Mapping[str, str] = {
    PauseReason.WAITING_FOR_PARTS: N_("Waiting for parts"),
    PauseReason.RESIDENT_ABSENT: N_("The resident is not there"),
    PauseReason.RESIDENT_ASKED_TO_WAIT: N_("The resident asked to wait"),
    PauseReason.OTHER: N_("Another reason"),
}

RATINGS: Mapping[str, str] = {
    "5": N_("5 — very satisfied"),
    "4": N_("4 — satisfied"),
    "3": N_("3 — neither"),
    "2": N_("2 — dissatisfied"),
    "1": N_("1 — very dissatisfied"),
}

VALIDITY: Mapping[str, str] = {
    "valid": N_("Valid: the complaint is justified"),
    "invalid": N_("Not valid: the complaint is not justified"),
}

_REASON = Field("note", "reason", N_("Why"))


def _form(command: str, button: str, question: str, done: str, *fields: Field) -> CommandForm:
    return CommandForm(command, button, question, done, fields)


FORMS: Mapping[str, CommandForm] = {
    form.command: form
    for form in (
        # The technician's steps.
        _form("accept-offer", N_("Accept"), N_("Accept this order?"), N_("Accepted %(order)s.")),
        _form(
            "decline-offer",
            N_("Decline"),
            N_("Decline this order?"),
            N_("Declined %(order)s."),
            Field("note", "reason", N_("Why (optional)"), required=False, max_length=500),
        ),
        _form(
            "arrive",
            N_("Arrived"),
            N_("Are you at the resident's place now?"),
            N_("Arrival recorded for %(order)s."),
        ),
        _form(
            "start-work",
            N_("Start work"),
            N_("Start the work now?"),
            N_("Work started on %(order)s."),
        ),
        _form(
            "pause",
            N_("Pause"),
            N_("Pause the work?"),
            N_("Work paused on %(order)s."),
            Field("reason", "reason", N_("Why"), Kind.CHOICE, choices=PAUSE_REASONS),
            Field("note", "note", N_("Details (optional)"), required=False, max_length=500),
        ),
        _form(
            "resume",
            N_("Resume work"),
            N_("Resume the work now?"),
            N_("Work resumed on %(order)s."),
        ),
        _form(
            "report-progress",
            N_("Report progress"),
            N_("Report how the work stands?"),
            N_("Progress reported on %(order)s."),
            Field("note", "note", N_("How the work stands")),
        ),
        _form(
            "complete",
            N_("Complete"),
            N_("Is the work done?"),
            N_("%(order)s is complete."),
            Field("note", "summary", N_("What was done")),
        ),
        _form(
            "miss-appointment",
            N_("Nobody home"),
            N_("Nobody was home at the appointment?"),
            N_("Missed appointment recorded for %(order)s."),
            Field(
                "note",
                "note",
                N_("Where the notice was left (optional)"),
                required=False,
                max_length=500,
            ),
        ),
        _form(
            "hand-back",
            N_("Hand back"),
            N_("Give this order back to dispatch (退单)?"),
            N_("%(order)s handed back to dispatch."),
            _REASON,
        ),
        _form(
            "request-transfer",
            N_("Ask for a transfer"),
            N_("Ask for another technician to take this order (转单)?"),
            N_("Transfer of %(order)s asked for."),
            _REASON,
        ),
        # A supervisor's or project manager's override: the second postponement (不得两次推迟).
        _form(
            "postpone",
            N_("Postpone with an override"),
            N_("Move the promised time once more, as an override?"),
            N_("%(order)s postponed with your override."),
            Field("new_due_at", "new_due_at", N_("New promised time"), Kind.INSTANT),
            Field("note", "reason", N_("Why the promise cannot be kept")),
            Field("override", "override_reason", N_("Why a second postponement is allowed")),
        ),
        # Customer service's steps.
        _form(
            "give-feedback",
            N_("Record feedback"),
            N_("Record what the resident was told?"),
            N_("Feedback recorded for %(order)s."),
            Field("note", "message", N_("What the resident was told")),
        ),
        _form(
            "record-no-visit-needed",
            N_("No visit needed"),
            N_("Settle this without a visit?"),
            N_("No visit needed for %(order)s."),
            Field("note", "reason", N_("Why no visit is needed")),
        ),
        _form(
            "mark-complaint",
            N_("Rule the complaint"),
            N_("Is this complaint valid?"),
            N_("Complaint %(order)s ruled."),
            Field("valid", "valid", N_("Ruling"), Kind.CHOICE, choices=VALIDITY),
            Field("note", "reason", N_("The grounds")),
        ),
        _form(
            "transfer-owner",
            N_("Transfer ownership"),
            N_("Give this order to another owner?"),
            N_("%(order)s has a new owner."),
            Field("to_owner", "to_owner", N_("New owner"), Kind.PERSON),
            _REASON,
        ),
        _form(
            "record-follow-up",
            N_("Record the follow-up"),
            N_("Record the follow-up visit (回访)?"),
            N_("Follow-up of %(order)s recorded."),
            Field("rating", "rating", N_("Rating"), Kind.CHOICE, choices=RATINGS),
            Field("note", "comment", N_("What the resident said (optional)"), required=False),
        ),
    )
}
"""Every command the console gives on an existing order, by dispatch's URL segment."""

TECHNICIAN_COMMANDS: frozenset[str] = frozenset(
    {
        "accept-offer",
        "decline-offer",
        "arrive",
        "start-work",
        "pause",
        "resume",
        "report-progress",
        "complete",
        "miss-appointment",
        "hand-back",
        "request-transfer",
    }
)
CUSTOMER_SERVICE_COMMANDS: frozenset[str] = frozenset(
    {"give-feedback", "record-no-visit-needed", "mark-complaint", "transfer-owner"}
    | {"record-follow-up"}
)


def command_body(
    form: CommandForm, answers: Mapping[str, str], zone: str | None = None
) -> tuple[Json | None, list[Field]]:
    """The command's JSON body from the posted answers, and the fields left unanswered.

    A text is trimmed; an empty optional field is left out; a choice not among its
    choices, or a time that is not one, counts as unanswered. A rating is a number, a
    ruling true or false, a time on `zone`'s wall clock an instant with its offset.
    """
    body: Json = {}
    missing: list[Field] = []
    for field in form.fields:
        answer = answers.get(field.name, "").strip()[: field.max_length]
        if field.kind is Kind.CHOICE and answer not in (field.choices or {}):
            answer = ""
        value = _typed(field, answer, zone) if answer else None
        if value is None:
            if field.required:
                missing.append(field)
            continue
        body[field.key] = value
    return (body or None), missing


def _typed(field: Field, answer: str, zone: str | None) -> object:
    if field.kind is Kind.INSTANT:
        return timing.wall_clock_instant(answer, zone)
    if field.key == "rating":
        return int(answer)
    if field.key == "valid":
        return answer == "valid"
    return answer
