"""End to end: an offer reaches the technician it is made to, who finds it in the list."""

from __future__ import annotations

from pathlib import Path

from services.notify.domain.config import NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from tests.integration.dispatch.api_support import TENANT, auth, running_api
from tests.integration.dispatch.assignment_support import events_of, hire, set_rule, types
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually


async def test_an_offer_is_sent_to_the_technician_and_listed_as_offered_to_them(
    harness: Harness, tmp_path: Path
) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        await hire(api, "tech_wang")
        await hire(api, "tech-li", on_duty=False)
        await set_rule(api, "auto")
        order = await api.report()
        assert types(await events_of(api, order["id"])) == [
            "workorder.reported",
            "workorder.offered",
        ]
        events = await events_of(api, order["id"], with_sla=True)

        mine = await api.client.get(
            "/v1/work-orders",
            params={"offered_to": "tech_wang"},
            headers=auth(Role.TECHNICIAN, subject="tech_wang"),
        )
        # An underscore is a literal, not LIKE's "any character".
        lookalike = await api.client.get(
            "/v1/work-orders",
            params={"offered_to": "tech-wang"},
            headers=auth(Role.SUPERVISOR),
        )
        not_theirs = await api.client.get(
            "/v1/work-orders",
            params={"offered_to": "tech-li"},
            headers=auth(Role.SUPERVISOR),
        )
        accepted = await api.client.post(
            f"/v1/work-orders/{order['id']}/accept-offer",
            headers=auth(Role.TECHNICIAN, subject="tech_wang"),
        )
        after = await api.client.get(
            "/v1/work-orders",
            params={"offered_to": "tech_wang"},
            headers=auth(Role.TECHNICIAN, subject="tech_wang"),
        )

    assert [i["id"] for i in mine.json()["items"]] == [order["id"]]
    assert lookalike.json()["items"] == [] and not_theirs.json()["items"] == []
    assert accepted.status_code == 200, accepted.text
    assert after.json()["items"] == []  # taken: no longer an open offer

    await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    for item in events:
        await harness.publish(Envelope.model_validate(item))

    async def offer_heard() -> bool:
        rows = await harness.deliveries(template="offered", status="sent")
        return len(rows) == 1

    await eventually(offer_heard, what="the offer delivered")
    [row] = await harness.deliveries(template="offered")
    assert (row["recipient"], row["channel"]) == ("person:tech_wang", "inbox"), dump([row])
    assert "accept-offer" in row["body_text"] and order["id"] in row["body_text"]
