"""The harness reads deliveries oldest first, even when the manual clock stamped them all
at one moment and the database has since moved them around."""

from __future__ import annotations

from services.notify.domain.config import NotifyConfig, TenantConfig
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import TENANT, envelope, story

OWNER = "person:cs-li"


async def test_deliveries_made_at_one_moment_come_back_in_the_order_of_their_events(
    harness: Harness,
) -> None:
    notify = await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    reported, assigned = story()[:2]
    for sequence, data in enumerate((reported, assigned), start=1):
        await harness.publish(envelope(data, sequence))

    async def both_made() -> bool:
        return len(await harness.deliveries(recipient=OWNER)) == 2

    await eventually(both_made, what="the owner's two messages")
    if notify.engine.dialect.name == "postgresql":
        # Store the later message first, as the sender's updates (a row's new version
        # lands wherever a page has room) or a VACUUM FULL may leave them.
        async with notify.engine.begin() as conn:
            # The whole lock first: the sender's updates run meanwhile.
            await conn.exec_driver_sql("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
            await conn.exec_driver_sql("CREATE INDEX ix_test_latest ON deliveries (event_type)")
            await conn.exec_driver_sql("CLUSTER deliveries USING ix_test_latest")

    rows = await harness.deliveries(recipient=OWNER)
    assert rows[0]["created_at"] == rows[1]["created_at"], dump(rows)
    assert [r["event_type"] for r in rows] == ["workorder.reported", "workorder.assigned"], dump(
        rows
    )
