"""notify's routes as lines of the console's form: `recipient template`, one a line."""

from __future__ import annotations

from services.console.domain.routes import parse_targets, targets_text

TARGETS = [
    {"recipient": "resident", "template": "completed"},
    {"recipient": "owner", "template": "owner_update"},
]


def test_targets_read_back_as_the_lines_they_are_shown_as() -> None:
    text = targets_text(TARGETS)
    assert text == "resident completed\nowner owner_update"
    assert parse_targets(text) == (TARGETS, None)
    # Blank lines and extra spaces do not matter; no line is the empty route.
    assert parse_targets("\n  resident   completed \n\nowner owner_update\n") == (TARGETS, None)
    assert parse_targets("  \n") == ([], None)


def test_a_line_that_is_not_a_recipient_and_a_template_is_named() -> None:
    assert parse_targets("resident completed\nowner") == ([], "owner")
    assert parse_targets("role:supervisor sla escalated") == ([], "role:supervisor sla escalated")
