"""`wo token`: mint a development bearer token (HS256) for calling the services by hand.

The secret, issuer and audience come from the same settings the services read
(`JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, with the development defaults), so a
token minted here is accepted by a locally started stack.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from pydantic import ValidationError

from shared.auth import ALL_PROJECTS, PERSONAL_DATA_SCOPE, Role, mint_token
from shared.clock import SystemClock
from shared.errors import InvalidInput
from shared.settings import ServiceSettings
from shared.subjects import validate_slug


class TokenConfigError(Exception):
    """The environment does not allow minting HS256 tokens (no secret, invalid settings)."""


def mint_dev_token(
    *,
    role: Role,
    tenant: str,
    projects: list[str],
    subject: str | None = None,
    ttl: timedelta = timedelta(days=30),
    scopes: frozenset[str] = frozenset(),
) -> str:
    """Mint an HS256 token with the secret, issuer and audience of the current settings
    (granted `scopes`, its `scope` claim).

    Raises `TokenConfigError` when the settings cannot be read or have no secret.
    """
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        raise TokenConfigError(f"the environment holds invalid settings: {exc}") from None
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    if not secret:
        raise TokenConfigError(
            "JWT_SECRET is empty: unset it to use the development secret, or set it to the "
            "secret the services use"
        )
    return mint_token(
        secret=secret,
        subject=subject or f"dev-{role}",
        role=role,
        tenant=tenant,
        projects=projects,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        now=SystemClock().now(),
        ttl=ttl,
        scopes=scopes,
    )


def _tenant_slug(value: str) -> str:
    try:
        return validate_slug(value, "tenant")
    except InvalidInput as exc:
        raise typer.BadParameter(exc.message) from None


def _project_slugs(values: list[str]) -> list[str]:
    projects = []
    for value in values:
        if value == ALL_PROJECTS:
            projects.append(value)
            continue
        try:
            projects.append(validate_slug(value, "project"))
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message) from None
    return projects


GRANTABLE_SCOPES = frozenset({PERSONAL_DATA_SCOPE})
"""The scopes a token may be granted (its `scope` claim)."""


def _scopes(values: list[str] | None) -> list[str]:
    for value in values or ():
        if value not in GRANTABLE_SCOPES:
            known = ", ".join(sorted(GRANTABLE_SCOPES))
            raise typer.BadParameter(f"{value!r} is not a scope; known: {known}")
    return values or []


def token_command(
    role: Annotated[
        Role, typer.Option("--role", "-r", help="Role the token carries.", case_sensitive=False)
    ],
    tenant: Annotated[
        str, typer.Option("--tenant", "-t", help="Tenant slug.", callback=_tenant_slug)
    ],
    project: Annotated[
        list[str],
        typer.Option(
            "--project",
            "-p",
            help="Project slug the token may access; repeat for several, '*' for all projects.",
            callback=_project_slugs,
        ),
    ],
    subject: Annotated[
        str | None, typer.Option("--subject", "-s", help="Subject (default: dev-<role>).")
    ] = None,
    ttl_hours: Annotated[
        int, typer.Option("--ttl-hours", min=1, help="Hours until the token expires.")
    ] = 24 * 30,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A grant beyond the role, e.g. personal_data (an integrator reading "
            "residents' data in clear, logged); repeat for several.",
            callback=_scopes,
        ),
    ] = None,
) -> None:
    """Print a development bearer token (HS256, JWT_SECRET or the development secret)."""
    try:
        token = mint_dev_token(
            role=role,
            tenant=tenant,
            projects=project,
            subject=subject,
            ttl=timedelta(hours=ttl_hours),
            scopes=frozenset(scope or ()),
        )
    except TokenConfigError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    # Plain echo, not Rich: Rich wraps long lines, which would break `$(wo token ...)`.
    typer.echo(token)
