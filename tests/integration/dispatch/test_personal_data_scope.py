"""An integrator sees residents' data masked, unless its token is granted the personal-data
scope: then one order shows in clear and the read is written to the access log."""

from __future__ import annotations

import time
from typing import Any

import jwt

from shared.auth import PERSONAL_DATA_SCOPE, Role
from shared.settings import ServiceSettings
from tests.integration.dispatch.api_support import TENANT, Api, auth
from wo.token import mint_dev_token

CLEAR = {"name": "张三", "phone": "13800000000", "resident_id": "res-7"}
MASKED = {"name": "张*", "phone": "138****0000", "resident_id": "res-7"}


def _integrator(scopes: frozenset[str] = frozenset()) -> dict[str, str]:
    token = mint_dev_token(
        role=Role.INTEGRATOR, tenant=TENANT, projects=["*"], subject="erp", scopes=scopes
    )
    return {"Authorization": f"Bearer {token}"}


def _without_reference(reporter: dict[str, Any]) -> dict[str, Any]:
    """The reporter as shown, without their pseudonymous reference (shown to all)."""
    return {k: v for k, v in reporter.items() if k != "resident"}


async def _log(api: Api) -> list[dict[str, Any]]:
    found = await api.client.get(
        "/v1/privacy/access-log", params={"subject": "erp"}, headers=auth(Role.PRIVACY_OFFICER)
    )
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def test_an_integrator_without_the_scope_sees_masks_and_nothing_is_logged(
    api: Api,
) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])

    read = await api.client.get(f"/v1/work-orders/{wid}", headers=_integrator())

    assert read.status_code == 200
    assert _without_reference(read.json()["reporter"]) == MASKED
    assert "13800000000" not in read.text
    assert await _log(api) == []


async def test_an_integrator_with_the_scope_sees_the_order_in_clear_and_is_logged(
    api: Api,
) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    granted = _integrator(frozenset({PERSONAL_DATA_SCOPE}))

    read = await api.client.get(f"/v1/work-orders/{wid}", headers=granted)
    history = await api.client.get(f"/v1/work-orders/{wid}/events", headers=granted)
    listed = await api.client.get("/v1/work-orders", headers=granted)

    assert _without_reference(read.json()["reporter"]) == CLEAR
    assert history.json()["items"][0]["data"]["reporter"]["phone"] == "13800000000"
    # A list stays masked: the grant is for one order's call-back, not a bulk export.
    assert [_without_reference(o["reporter"]) for o in listed.json()["items"]] == [MASKED]
    entries = await _log(api)
    assert [(e["role"], e["purpose"]) for e in reversed(entries)] == [
        ("integrator", "GET /v1/work-orders/{work_order_id}"),
        ("integrator", "GET /v1/work-orders/{work_order_id}/events"),
    ]
    assert entries[0]["work_order_id"] == wid
    assert entries[0]["fields"] == ["reporter.name", "reporter.phone", "location.unit"]


async def test_a_scope_claim_that_is_not_a_string_is_refused(api: Api) -> None:
    settings = ServiceSettings()
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    claims = {
        "sub": "erp",
        "role": "integrator",
        "tenant": TENANT,
        "projects": ["*"],
        "scope": ["personal_data"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(time.time()),
        "exp": int(time.time()) + 3600,
    }
    token = jwt.encode(claims, secret, algorithm="HS256")

    read = await api.client.get("/v1/work-orders", headers={"Authorization": f"Bearer {token}"})

    assert read.status_code == 401
    assert read.json()["code"] == "invalid_claims"
