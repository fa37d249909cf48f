"""An SMS to a resident gets their phone from dispatch when it is sent, as notify's service
identity, and nothing clear is kept: not in the rows, the development outbox or the logs.
An erased resident is sent nothing more; dispatch being down is a failed attempt, retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from shared.auth import Role
from shared.clock import ManualClock
from shared.events.resident import ResidentErased
from shared.privacy.pseudonym import reporter_reference
from shared.settings import DEV_JWT_SECRET
from tests.integration.notify.conftest import Harness, dump, token
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import PHONE, RESIDENT, TENANT, envelope, reported

BY_SMS = NotifyConfig(tenants={TENANT: TenantConfig(resident_channels=(ChannelName.SMS,))})
QUICK = RetryPolicy(max_attempts=5, backoff_seconds=(1.0,))
EVENING = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 21:30 in Asia/Shanghai: quiet hours


async def _sms_row(harness: Harness, work_order_id: str, *statuses: str) -> dict[str, object]:
    rows: list[dict[str, object]] = []

    async def settled() -> bool:
        rows[:] = await harness.deliveries(work_order_id=work_order_id, channel="sms")
        return bool(rows) and rows[0]["status"] in statuses

    await eventually(settled, what=f"the SMS {' or '.join(statuses)}")
    return rows[0]


async def test_the_sms_goes_to_the_phone_dispatch_answers_and_nothing_clear_is_kept(
    harness: Harness, log_output: Callable[[], str]
) -> None:
    async with http_receiver() as provider:
        await harness.start(BY_SMS, sms_endpoint=f"{provider.url}/send", sms_api_key="k")
        await harness.publish(envelope(reported(), 1, work_order_id="wo-sms"))

        row = await _sms_row(harness, "wo-sms", "sent")

        [sent] = provider.requests
        assert sent.json()["to"] == PHONE  # the clear number reached the provider only
    [asked] = harness.dispatch.asked
    assert asked.url.path == f"/v1/residents/{RESIDENT}/contact"
    assert asked.url.params["work_order"] == "wo-sms"
    claims = jwt.decode(
        asked.headers["authorization"].removeprefix("Bearer "),
        DEV_JWT_SECRET,
        algorithms=["HS256"],
        audience="workorders",
    )
    assert (claims["role"], claims["tenant"], claims["sub"]) == ("notifier", TENANT, "notify")
    assert (row["recipient"], row["address"]) == (f"resident:{RESIDENT}", "138****0000")
    assert row["recipient_name"] == "张*"
    assert str(row["body_text"]).startswith("张*您好")
    every_row = dump(await harness.deliveries())
    assert PHONE not in every_row and "张三" not in every_row
    logged = log_output()
    assert PHONE not in logged and "张三" not in logged
    assert asked.headers["authorization"].removeprefix("Bearer ") not in logged


async def test_the_development_outbox_keeps_the_masked_phone(harness: Harness) -> None:
    await harness.start(BY_SMS)  # no SMS provider: the development outbox stands in
    await harness.publish(envelope(reported(), 1, work_order_id="wo-dev"))

    await _sms_row(harness, "wo-dev", "sent")

    async with harness.api() as api:
        answer = await api.get("/v1/dev-outbox", headers=token(Role.CUSTOMER_SERVICE, "cs-li"))
    [kept] = answer.json()["items"]
    assert kept["address"] == "138****0000" and PHONE not in answer.text
    assert len(harness.dispatch.asked) == 1  # the send asked dispatch for the number


async def test_an_erased_resident_is_never_sent_the_sms(harness: Harness) -> None:
    harness.dispatch.erased.add(RESIDENT)
    async with http_receiver() as provider:
        await harness.start(BY_SMS, sms_endpoint=f"{provider.url}/send", sms_api_key="k")
        await harness.publish(envelope(reported(), 1, work_order_id="wo-gone"))

        row = await _sms_row(harness, "wo-gone", "skipped")

        assert provider.requests == []
    assert row["status_reason"] == "resident_erased" and row["sent_at"] is None
    await eventually(
        lambda: len(harness.events("notification.skipped")) == 1, what="notification.skipped"
    )
    assert harness.events("notification.skipped")[0].data["reason"] == "resident_erased"


async def test_dispatch_down_is_a_failed_attempt_tried_again(harness: Harness) -> None:
    harness.dispatch.down = True
    retry = {channel: QUICK for channel in ChannelName}
    config = NotifyConfig(tenants=BY_SMS.tenants, retry=retry)
    async with http_receiver() as provider:
        await harness.start(config, sms_endpoint=f"{provider.url}/send", sms_api_key="k")
        await harness.publish(envelope(reported(), 1, work_order_id="wo-later"))

        failed = await _sms_row(harness, "wo-later", "failed")
        assert "503" in str(failed["last_error"]) and PHONE not in str(failed["last_error"])
        assert provider.requests == []

        harness.dispatch.down = False
        harness.clock.advance(timedelta(seconds=2))
        await _sms_row(harness, "wo-later", "sent")
        assert [r.json()["to"] for r in provider.requests] == [PHONE]


async def test_resident_erased_skips_their_pending_messages_once(harness: Harness) -> None:
    harness.clock = ManualClock(EVENING)
    await harness.start(BY_SMS)
    await harness.publish(envelope(reported(), 1, work_order_id="wo-night", at=EVENING))
    await _sms_row(harness, "wo-night", "deferred")
    erased = ResidentErased(
        resident=RESIDENT,
        work_orders=("wo-night",),
        erased_by="dpo-1",
        reason="request",
        keys_destroyed=1,
    )
    for attempt in range(2):  # applied again (a redelivery, a second erasure): no change
        await harness.publish(envelope(erased, 1, work_order_id=RESIDENT), msg_id=f"e{attempt}")

    row = await _sms_row(harness, "wo-night", "skipped")

    assert row["status_reason"] == "resident_erased"
    await eventually(
        lambda: len(harness.events("notification.skipped")) == 1, what="one notification.skipped"
    )
    harness.clock.advance(timedelta(hours=12))  # past quiet hours: still nothing is sent
    assert harness.dispatch.asked == []


async def test_a_privacy_officer_reads_what_a_resident_was_sent(harness: Harness) -> None:
    await harness.start(BY_SMS)
    await harness.publish(envelope(reported(), 1, work_order_id="wo-dpo"))
    await _sms_row(harness, "wo-dpo", "sent")

    async with harness.api() as api:
        path = f"/v1/residents/{RESIDENT}/deliveries"
        officer = await api.get(path, headers=token(Role.PRIVACY_OFFICER, "dpo-1"))
        staff = await api.get(path, headers=token(Role.CUSTOMER_SERVICE, "cs-li"))

    assert officer.status_code == 200, officer.text
    [message] = officer.json()["items"]
    assert (message["channel"], message["address"]) == ("sms", "138****0000")
    assert message["work_order_id"] == "wo-dpo" and "已受理" in message["subject"]
    assert staff.status_code == 403 and staff.json()["code"] == "role_not_allowed"


async def test_a_report_of_before_references_is_sent_under_the_derived_reference(
    harness: Harness,
) -> None:
    notify = await harness.start(BY_SMS)
    derived = reporter_reference(
        notify.settings.privacy_keys().resident_reference,
        TENANT,
        phone=PHONE,
        resident_id="res-zhang",
        work_order_id="wo-old",
    )
    harness.dispatch.phones[derived] = PHONE
    await harness.publish(envelope(reported(), 1, work_order_id="wo-old", resident=None))

    row = await _sms_row(harness, "wo-old", "sent")

    assert row["recipient"] == f"resident:{derived}" and row["address"] == "138****0000"
    assert harness.dispatch.asked[0].url.path == f"/v1/residents/{derived}/contact"


async def test_without_a_reference_key_an_old_report_is_skipped_not_sent(
    harness: Harness,
) -> None:
    await harness.start(BY_SMS, privacy_master_key="")  # no key: nothing to derive with
    await harness.publish(envelope(reported(), 1, work_order_id="wo-old", resident=None))

    row = await _sms_row(harness, "wo-old", "skipped")

    assert (row["recipient"], row["status_reason"]) == (
        "resident:res-zhang",
        "no_resident_reference",
    )
    assert harness.dispatch.asked == []
