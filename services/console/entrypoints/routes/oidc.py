"""The OpenID Connect sign-in's two steps: off to the identity provider, and back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from starlette.exceptions import HTTPException

from services.console.domain.oidc import CALLBACK_PATH
from services.console.entrypoints.routes.auth import safe_next
from services.console.entrypoints.web import Visit, visit_of
from services.console.service_layer.oidc import OidcSignIn, SignInFailed
from shared.logging import get_logger

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

VisitDep = Annotated[Visit, Depends(visit_of)]


def _oidc(visit: Visit) -> OidcSignIn:
    oidc = visit.console.oidc
    if oidc is None:
        # Development signs in with its own page only.
        raise HTTPException(404)
    return oidc


@router.get("/sign-in/oidc")
async def start(visit: VisitDep, next: str | None = None) -> Response:
    """Send the browser to the identity provider to sign in."""
    oidc = _oidc(visit)
    try:
        url = await oidc.start(visit.session.id, safe_next(next))
    except SignInFailed as exc:
        return _failed(visit, exc)
    return visit.redirect(url)


@router.get(CALLBACK_PATH)
async def callback(visit: VisitDep) -> Response:
    """The provider's answer: sign the person in, or say why not (and keep no session)."""
    oidc = _oidc(visit)
    try:
        user, next_path = await oidc.finish(visit.session.id, dict(visit.request.query_params))
    except SignInFailed as exc:
        return _failed(visit, exc)
    visit.session = visit.console.sessions.sign_in(visit.session, user)
    log.info("console.signed_in", subject=user.subject, role=str(user.role))
    return visit.redirect(next_path)


def _failed(visit: Visit, exc: SignInFailed) -> Response:
    log.warning("console.sign_in_refused", reason=exc.reason, status=exc.status)
    message = visit.gettext(
        "Signing in with the company account failed: %(reason)s. Sign in again.",
        reason=exc.reason,
    )
    return visit.render("error.html", status=exc.status, message=message)
