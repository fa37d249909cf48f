"""What every page shares: the visit (session, language, user), rendering, forms and refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.console.domain import orders, timing
from services.console.domain.roles import Page, may_open, pages_of
from services.console.domain.session import Session, SignedIn, csrf_valid
from services.console.entrypoints import labels
from services.console.entrypoints.bootstrap import Console
from services.console.entrypoints.forms import FORMS

COOKIE = "console_session"
FRAGMENT_HEADER = "X-Console-Fragment"
"""Marks a live fragment, so the page's script can tell it from a sign-in page it was sent to."""
MAX_FORM_BYTES = 16 * 1024

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class NotSignedIn(Exception):
    """The page needs someone signed in."""


class PageRefused(Exception):
    """The signed-in role may not open this page, or the form's CSRF token is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Visit:
    """One request of a browser: the console, the browser's session and the request."""

    request: Request
    console: Console
    session: Session

    @property
    def user(self) -> SignedIn | None:
        """Who is signed in, if anyone."""
        return self.session.user

    def gettext(self, message: str, **params: Any) -> str:
        """`message` in the session's language, with `%(name)s` parameters filled in."""
        text = self.console.translations[self.session.language].gettext(message)
        return text % params if params else text

    def now(self) -> datetime:
        """The console's clock."""
        return self.console.clock.now()

    def local_time(self, value: str | None, zone: str | None) -> str:
        """An API's instant on the wall clock of `zone` (a project's), as pages show it."""
        return _local(value, zone, self.now())

    def require(self, page: Page) -> SignedIn:
        """The signed-in user, who must be allowed `page` (else a redirect or a 403 page)."""
        user = self.user
        if user is None:
            raise NotSignedIn
        if not may_open(user.role, page):
            raise PageRefused(self.gettext("Your role may not open this page."))
        return user

    async def form(self) -> dict[str, str]:
        """The posted form (URL-encoded), after its CSRF token was checked against the session."""
        body = await self.request.body()
        if len(body) > MAX_FORM_BYTES:
            raise PageRefused(self.gettext("The form is too large."))
        fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if not csrf_valid(self.session, fields.get("csrf")):
            raise PageRefused(
                self.gettext("The form had expired or did not come from this console; try again.")
            )
        return fields

    def note(self, message: str) -> None:
        """Show `message` (already translated) once on the next page."""
        self.session = self.console.sessions.note(self.session, message)

    def render(self, template: str, status: int = 200, **data: Any) -> HTMLResponse:
        """The page `template` in the session's language, keeping the session cookie."""
        self.session, notes = self.console.sessions.take_notes(self.session)
        html = TEMPLATES.get_template(template).render(**self._context(), notes=notes, **data)
        response = HTMLResponse(html, status_code=status)
        self.keep(response)
        return response

    def fragment(self, template: str, **data: Any) -> HTMLResponse:
        """A live part of a page, re-read by the page's script."""
        html = TEMPLATES.get_template(template).render(**self._context(), **data)
        response = HTMLResponse(html, headers={FRAGMENT_HEADER: "1", "Cache-Control": "no-store"})
        self.keep(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """See `url` next (303: a form's answer is fetched with GET)."""
        response = RedirectResponse(url, status_code=303)
        self.keep(response)
        return response

    def keep(self, response: Response) -> None:
        """Set the session cookie: HttpOnly, SameSite=Lax, Secure outside development."""
        response.set_cookie(
            COOKIE,
            self.session.id,
            max_age=self.console.settings.session_idle_minutes * 60,
            httponly=True,
            samesite="lax",
            secure=self.console.settings.environment != "development",
            path="/",
        )
        response.headers["Cache-Control"] = "no-store"

    def _context(self) -> dict[str, Any]:
        now = self.now()
        user = self.user
        return {
            "_": self.gettext,
            "user": user,
            "nav": pages_of(user.role) if user else (),
            "language": self.session.language,
            "csrf": self.session.csrf,
            "path": self.request.url.path,
            "refresh_seconds": self.console.settings.refresh_seconds,
            "label": orders.order_label,
            "address": orders.address,
            "now": now,
            "local_time": lambda value, zone: _local(value, zone, now),
            "countdown": lambda value: _countdown(value, now),
            "labels": labels,
            "forms": FORMS,
            "word": lambda table, code: self.gettext(labels.word(table, code)),
            "zone_of": _zone_of,
            "fallback_zone": timing.FALLBACK_ZONE,
        }


def _local(value: str | None, zone: str | None, now: datetime) -> str:
    instant = timing.parse_instant(value)
    return timing.local_time(instant, zone, now) if instant else ""


def _countdown(value: str | None, now: datetime) -> timing.Countdown | None:
    instant = timing.parse_instant(value)
    return timing.countdown(instant, now) if instant else None


def _zone_of(projects: dict[str, Any], slug: str) -> str | None:
    zone = (projects.get(slug) or {}).get("time_zone")
    return str(zone) if zone else None


async def visit_of(request: Request) -> Visit:
    """The visit of this request (kept on the request for the error pages)."""
    console: Console = request.app.state.console
    session = console.sessions.current(
        request.cookies.get(COOKIE), request.headers.get("accept-language")
    )
    found = Visit(request, console, session)
    request.state.visit = found
    return found
