"""Which pages each role of the staff opens: the console's navigation as data.

The console checks it before calling anything, and dispatch checks its own role matrix
again on every call, so a page hidden here is also refused by the API behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.auth import Role


class Page(StrEnum):
    """A page of the console, by its URL segment."""

    CALLS = "calls"
    """Customer service: take a call, my orders (客服)."""
    DISPATCH = "dispatch"
    """Dispatcher: pending queue, at-risk clocks, open offers, assign (调度)."""
    TECH = "tech"
    """Technician, phone layout: offers, my orders, arrive / start / complete (维修工)."""
    FOLLOW_UPS = "follow-ups"
    """Customer service: the follow-up visits (回访) still owed this month, and their ratings."""
    INBOX = "inbox"
    """Supervisors and project managers: the escalations and alerts notify sent them."""
    NOTIFICATIONS = "notifications"
    """Supervisors and project managers: notify's contacts and who hears of each event."""
    STAFF = "staff"
    """Supervisors, managers and headquarters: the staff directory and who is on duty."""
    SETUP = "setup"
    """Supervisors and project managers: staff, teams, rosters and dispatch rules (配置)."""
    SLA = "sla"
    """Project managers and headquarters: the SLA policy, previewed then published."""
    QUALITY = "quality"
    """Headquarters quality (品质部), and supervisors and managers for their projects: the
    KPIs against their targets, their trends, the orders behind them, the breaches."""


PAGES: Mapping[Role, tuple[Page, ...]] = {
    Role.CUSTOMER_SERVICE: (Page.CALLS, Page.FOLLOW_UPS),
    Role.DISPATCHER: (Page.DISPATCH,),
    Role.TECHNICIAN: (Page.TECH,),
    Role.SUPERVISOR: (
        Page.DISPATCH,
        Page.INBOX,
        Page.CALLS,
        Page.FOLLOW_UPS,
        Page.STAFF,
        Page.NOTIFICATIONS,
        Page.QUALITY,
        Page.SETUP,
    ),
    Role.PROJECT_MANAGER: (
        Page.DISPATCH,
        Page.INBOX,
        Page.STAFF,
        Page.NOTIFICATIONS,
        Page.QUALITY,
        Page.SETUP,
        Page.SLA,
    ),
    Role.HQ_QUALITY: (Page.QUALITY, Page.STAFF, Page.SLA),
}
"""The pages of each staff role, the first one its home. Residents and integrators have
none: residents use the residents' app, integrators the APIs."""

STAFF_ROLES: tuple[Role, ...] = tuple(PAGES)
"""The roles that may sign in to the console, in the order the sign-in page lists them."""


MANAGERS: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.PROJECT_MANAGER})
"""Who rules whether a complaint is valid and grants overrides (a second postponement):
dispatch gives those commands to no one else."""


def pages_of(role: Role) -> tuple[Page, ...]:
    """The pages `role` may open, its home first (none for a role without a console)."""
    return PAGES.get(role, ())


def may_open(role: Role, page: Page) -> bool:
    """Whether `role` may open `page`."""
    return page in pages_of(role)


def home_of(role: Role) -> Page | None:
    """Where `role` lands after signing in (None: the console has nothing for it)."""
    pages = pages_of(role)
    return pages[0] if pages else None
