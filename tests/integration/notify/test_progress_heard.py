"""End to end: the weekly progress report of a long fix (每周汇报整改进度) reaches the
resident, in their inbox and by SMS."""

from __future__ import annotations

from pathlib import Path

from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from shared.auth import Role
from shared.envelope import Envelope
from tests.integration.dispatch.api_support import TENANT, report_body, running_api
from tests.integration.dispatch.assignment_support import events_of
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually

NOTE = "防水层已重做，正在等待晾干，预计下周三完工"


async def test_a_progress_report_is_sent_to_the_resident(harness: Harness, tmp_path: Path) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        reporter = {"name": "张三", "phone": "13800000000", "resident_id": "res-zhang"}
        order = await api.report(**report_body(reporter=reporter))
        answer = await api.command(
            order["id"], "report-progress", Role.CUSTOMER_SERVICE, {"note": NOTE}
        )
        assert answer.status_code == 200, answer.text
        events = await events_of(api, order["id"], with_sla=True)

    inbox_only = TenantConfig(resident_channels=(ChannelName.INBOX,))
    await harness.start(NotifyConfig(tenants={TENANT: inbox_only}))
    for item in events:
        await harness.publish(Envelope.model_validate(item))

    async def resident_heard() -> bool:
        rows = await harness.deliveries(template="progress_reported", status="sent")
        return len(rows) == 1

    await eventually(resident_heard, what="the progress report sent to the resident")
    [row] = await harness.deliveries(template="progress_reported")
    # Named by their reference (derived: dispatch's events carry none yet), reached by login.
    assert row["recipient"].startswith("resident:rsd_"), dump([row])
    assert (row["channel"], row["address"]) == ("inbox", "res-zhang"), dump([row])
    assert NOTE in row["body_text"]
