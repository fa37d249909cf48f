"""Signing in and out, the language switch, and the landing redirect."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.console.domain.languages import parse_language
from services.console.domain.roles import home_of
from services.console.entrypoints.web import NotSignedIn, PageRefused, Visit, visit_of
from services.console.service_layer.oidc import SignInFailed
from services.console.service_layer.ports import UpstreamError

router = APIRouter(include_in_schema=False)

VisitDep = Annotated[Visit, Depends(visit_of)]


def home_url(visit: Visit) -> str:
    """Where the signed-in user starts (the sign-in page for anyone else)."""
    user = visit.user
    page = home_of(user.role) if user else None
    return f"/{page}" if page else "/sign-in"


def safe_next(value: str | None) -> str:
    """A path on this console to go back to (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/")
async def landing(visit: VisitDep) -> Response:
    """The signed-in user's home page, else the sign-in page."""
    return visit.redirect(home_url(visit))


@router.get("/sign-in")
async def sign_in_page(visit: VisitDep) -> Response:
    """The development sign-in: the tenant's people by role; elsewhere the way to the
    identity provider (OpenID Connect)."""
    dev = visit.console.sign_in
    if dev is None:
        return visit.render("sign_in_oidc.html")
    try:
        people = await dev.people()
    except UpstreamError as exc:
        return visit.render("sign_in.html", status=503, groups=[], problem=exc.detail)
    groups = [(role, list(members)) for role, members in groupby(people, key=lambda p: p.role)]
    return visit.render("sign_in.html", groups=groups, problem=None)


@router.post("/sign-in")
async def sign_in(visit: VisitDep) -> Response:
    """Sign in as the person picked on the page."""
    form = await visit.form()
    dev = visit.console.sign_in
    if dev is None:
        raise PageRefused(visit.gettext("Only the company account signs in here."))
    user = await dev.sign_in(form.get("person", ""))
    if user is None:
        raise PageRefused(visit.gettext("Nobody of that name can sign in here."))
    visit.session = visit.console.sessions.sign_in(visit.session, user)
    return visit.redirect(home_url(visit))


@router.post("/sign-out")
async def sign_out(visit: VisitDep) -> Response:
    """Forget the session and its token, and sign out at the identity provider too when it
    offers that (so the next person at this computer is asked who they are)."""
    await visit.form()
    user = visit.user
    if user is None:
        raise NotSignedIn
    visit.session = visit.console.sessions.sign_out(visit.session)
    oidc = visit.console.oidc
    try:
        at_provider = await oidc.sign_out_url(user) if oidc else None
    except SignInFailed:
        # The console's session is gone all the same; the provider's may outlive it.
        at_provider = None
    return visit.redirect(at_provider or "/sign-in")


@router.post("/language")
async def choose_language(visit: VisitDep) -> Response:
    """Switch the session's language and go back to the page it was switched on."""
    form = await visit.form()
    language = parse_language(form.get("language"))
    if language is None:
        raise PageRefused(visit.gettext("The console has no such language."))
    visit.session = visit.console.sessions.choose_language(visit.session, language)
    return visit.redirect(safe_next(form.get("next")))
