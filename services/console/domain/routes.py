"""notify's routes as the console edits them: one recipient and its template a line.

A route is a list of targets (`{"recipient": "owner", "template": "completed"}`); the
form shows it as lines `owner completed`, which a supervisor reads and edits in place.
notify checks the recipients and templates themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def targets_text(targets: Iterable[Mapping[str, Any]]) -> str:
    """The targets as lines `recipient template`."""
    return "\n".join(f"{t.get('recipient', '')} {t.get('template', '')}" for t in targets)


def parse_targets(text: str) -> tuple[list[dict[str, str]], str | None]:
    """The targets of the lines, and the first line that is not `recipient template`.

    Blank lines are skipped; no line at all is the empty route (nobody hears of it).
    """
    targets = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) != 2:
            return [], line.strip()
        targets.append({"recipient": words[0], "template": words[1]})
    return targets, None
