"""Dispatch's suggestions and "not eligible" reasons, in the reader's language.

Dispatch writes each reason in English and gives the facts it wrote them from (a code and
its facts for someone not eligible); these functions word the facts with the console's
catalog. A reason whose facts are missing (a code this console does not know yet, or a
dispatch from before the facts) is shown as dispatch wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.console.domain.orders import place
from services.console.entrypoints.figures import Gettext, figure_text
from services.console.entrypoints.labels import AVAILABILITY, CATEGORIES, INELIGIBLE, N_, word

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def suggestion_reasons(
    suggestion: Mapping[str, Any], projects: Mapping[str, Any], gettext: Gettext
) -> list[str]:
    """Why a technician is suggested: skill, place covered, on duty, load, time idle, and
    their rotation position (what broke a tie)."""
    trade = suggestion.get("trade")
    if not trade or "limit" not in suggestion:
        return [str(reason) for reason in suggestion.get("reasons") or ()]
    slug = str(suggestion.get("project") or "")
    where = place(slug, suggestion.get("building"), projects.get(slug))
    open_orders = suggestion.get("open_orders")
    limit = suggestion["limit"]
    idle = suggestion.get("idle_seconds")
    return [
        gettext(N_("skilled in %(trade)s"), trade=gettext(word(CATEGORIES, trade))),
        gettext(N_("covers %(place)s"), place=where),
        gettext(N_("on duty")),
        gettext(
            N_("%(open_orders)s open orders (urgent: load limit skipped)"), open_orders=open_orders
        )
        if limit is None
        else gettext(
            N_("%(open_orders)s open orders of %(limit)s allowed"),
            open_orders=open_orders,
            limit=limit,
        ),
        gettext(N_("never assigned"))
        if idle is None
        else gettext(N_("idle %(time)s"), time=figure_text("seconds", float(idle), gettext)),
        gettext(N_("rotation position %(rotation)s"), rotation=suggestion.get("rotation")),
    ]


def ineligible_reason(entry: Mapping[str, Any], gettext: Gettext) -> str:
    """Why someone is not suggested, from dispatch's code and facts (else its English `why`)."""
    why = str(entry.get("why") or "")
    message = INELIGIBLE.get(str(entry.get("code")))
    if message is None:
        return why
    facts = {
        "trade": _word(CATEGORIES, entry.get("trade"), gettext),
        "availability": _word(AVAILABILITY, entry.get("availability"), gettext),
        "open_orders": entry.get("open_orders"),
        "limit": entry.get("limit"),
    }
    needed = set(PLACEHOLDER.findall(message))
    if any(facts.get(name) is None for name in needed):
        return why
    return gettext(message, **{name: facts[name] for name in needed})


def _word(table: Mapping[str, str], code: object, gettext: Gettext) -> str | None:
    return None if code is None else gettext(word(table, code))
