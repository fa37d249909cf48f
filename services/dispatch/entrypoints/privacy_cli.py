"""`wo privacy`: a privacy officer's requests to dispatch's API, from the shell.

Each command calls the running dispatch (`--dispatch-url`, DISPATCH_URL) with a token:
`--token` (WO_TOKEN), else a development token of role `privacy_officer` for `--tenant`
minted as `wo token` does. What the API refuses is printed with its code, exit status 1;
dispatch unreachable, exit status 2.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

from shared.auth import Role
from shared.events.resident import ErasureReason
from wo.token import TokenConfigError, mint_dev_token

privacy_app = typer.Typer(
    help="Residents' personal data: erase, export, list who is due for erasure.",
    no_args_is_help=True,
)

DEFAULT_DISPATCH_URL = "http://127.0.0.1:8000"

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The resident's tenant.")]
UrlOption = Annotated[
    str | None,
    typer.Option("--dispatch-url", help=f"dispatch's API (DISPATCH_URL; {DEFAULT_DISPATCH_URL})."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="WO_TOKEN",
        help="A privacy officer's bearer token (default: a development token for --tenant).",
    ),
]
SubjectOption = Annotated[
    str, typer.Option("--subject", help="Who you are, in the development token minted.")
]


@privacy_app.command("erase")
def erase_command(
    resident: Annotated[str, typer.Argument(help="The resident's reference (rsd_...).")],
    tenant: TenantOption,
    case: Annotated[
        str | None, typer.Option("--case", help="Your reference of the request (a ticket id).")
    ] = None,
    dispatch_url: UrlOption = None,
    token: TokenOption = None,
    subject: SubjectOption = "dev-privacy_officer",
) -> None:
    """Erase a resident's personal data (destroys their keys; idempotent)."""
    body: dict[str, Any] = {"reason": ErasureReason.REQUEST.value}
    if case:
        body["case"] = case
    path = f"/v1/residents/{resident}/erase"
    erased = _call("POST", path, tenant, dispatch_url, token, subject, json_body=body)
    orders = len(erased.get("work_orders", []))
    Console().print(
        f"Erased {resident}: {erased['keys_destroyed']} key(s) destroyed now, "
        f"{orders} work order(s) covered, at {erased['erased_at']}.",
        highlight=False,
        soft_wrap=True,
    )


@privacy_app.command("export")
def export_command(
    resident: Annotated[str, typer.Argument(help="The resident's reference (rsd_...).")],
    tenant: TenantOption,
    dispatch_url: UrlOption = None,
    token: TokenOption = None,
    subject: SubjectOption = "dev-privacy_officer",
) -> None:
    """Print everything held about a resident as JSON (an access or portability request)."""
    path = f"/v1/residents/{resident}/personal-data"
    exported = _call("GET", path, tenant, dispatch_url, token, subject)
    typer.echo(json.dumps(exported, ensure_ascii=False, indent=2))


@privacy_app.command("retention")
def retention_command(
    tenant: TenantOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list who is due, and when; erase nothing.")
    ] = False,
    until: Annotated[
        datetime | None,
        typer.Option("--until", help="Due by this time (ISO 8601 with offset; default now)."),
    ] = None,
    dispatch_url: UrlOption = None,
    token: TokenOption = None,
    subject: SubjectOption = "dev-privacy_officer",
) -> None:
    """List the residents due for erasure after the retention period; without --dry-run,
    erase them now (reason `retention`), as dispatch's retention loop would."""
    params = {"limit": "1000"}
    if until is not None:
        if until.tzinfo is None:
            _fail("--until needs a UTC offset, e.g. 2027-01-01T00:00:00+08:00")
        params["until"] = until.isoformat()
    due = _call("GET", "/v1/privacy/retention", tenant, dispatch_url, token, subject, params)
    console = Console()
    items = due["items"]
    console.print(
        f"{len(items)} resident(s) due by {due['until']} "
        f"(retention {due['retention_days']} days after their orders ended).",
        highlight=False,
        soft_wrap=True,
    )
    for item in items:
        console.print(
            f"{item['resident']}  ended {item['ended_at']}  due {item['due_at']}",
            highlight=False,
            soft_wrap=True,
        )
    if dry_run:
        return
    for item in items:
        path = f"/v1/residents/{item['resident']}/erase"
        body = {"reason": ErasureReason.RETENTION.value}
        _call("POST", path, tenant, dispatch_url, token, subject, json_body=body)
        console.print(f"erased {item['resident']}", highlight=False)


def _call(
    method: str,
    path: str,
    tenant: str,
    dispatch_url: str | None,
    token: str | None,
    subject: str,
    params: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
) -> Any:
    base = (dispatch_url or os.environ.get("DISPATCH_URL") or DEFAULT_DISPATCH_URL).rstrip("/")
    bearer = token or _token(tenant, subject)
    try:
        response = httpx.request(
            method,
            base + path,
            params=params,
            json=json_body,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=30.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"Error: dispatch at {base} cannot be reached ({type(exc).__name__})", err=True)
        raise typer.Exit(2) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success:
        code = body.get("code") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else response.text[:200]
        _fail(f"{code or response.status_code}: {detail}")
    return body


def _token(tenant: str, subject: str) -> str:
    try:
        return mint_dev_token(
            role=Role.PRIVACY_OFFICER, tenant=tenant, projects=["*"], subject=subject
        )
    except TokenConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)
