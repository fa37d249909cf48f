"""The confirmation forms: what each command asks for and the body it sends to dispatch."""

from __future__ import annotations

from services.console.domain.orders import Action, ServiceStep
from services.console.entrypoints.forms import FORMS, command_body
from services.dispatch.domain.commands import WORK_ORDER_COMMANDS


def test_every_console_step_is_a_dispatch_command_with_a_form() -> None:
    for command in (*Action, *ServiceStep):
        assert command in WORK_ORDER_COMMANDS, command
        assert FORMS[command].command == command
    # Each body field a form fills is one the command has.
    for form in FORMS.values():
        fields = WORK_ORDER_COMMANDS[form.command].model_fields
        assert {f.key for f in form.fields} <= set(fields), form.command


def test_answers_become_the_commands_body() -> None:
    body, missing = command_body(FORMS["record-follow-up"], {"rating": "4", "note": " ok "})
    assert (body, missing) == ({"rating": 4, "comment": "ok"}, [])
    body, missing = command_body(FORMS["mark-complaint"], {"valid": "invalid", "note": "no"})
    assert body == {"valid": False, "reason": "no"} and missing == []
    body, _ = command_body(FORMS["pause"], {"reason": "waiting_for_parts", "note": ""})
    assert body == {"reason": "waiting_for_parts"}
    # Nothing asked, nothing sent; an empty optional field is left out.
    assert command_body(FORMS["arrive"], {}) == (None, [])
    assert command_body(FORMS["decline-offer"], {"note": "  "}) == (None, [])


def test_unanswered_and_unknown_choices_are_missing() -> None:
    form = FORMS["record-follow-up"]
    _, missing = command_body(form, {"rating": "9"})
    assert [f.name for f in missing] == ["rating"]
    _, missing = command_body(FORMS["hand-back"], {"note": "   "})
    assert [f.key for f in missing] == ["reason"]
    # Text is cut at the field's length, as the page's maxlength does.
    body, _ = command_body(FORMS["report-progress"], {"note": "x" * 3000})
    assert body is not None and len(body["note"]) == 2000
