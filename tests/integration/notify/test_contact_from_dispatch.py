"""notify's client of dispatch against the real dispatch app: the phone a send gets, the
access log entry it leaves, an erased resident refused, and dispatch down a failure."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from services.notify.adapters.dispatch_contacts import DispatchContacts, NotifierTokens
from services.notify.service_layer.ports import DeliveryFailed, ResidentGone
from shared.auth import Role
from shared.privacy.pseudonym import reporter_reference
from shared.settings import DEV_JWT_SECRET
from tests.integration.dispatch.api_support import TENANT, auth, running_api


def tokens() -> NotifierTokens:
    return NotifierTokens(
        secret=DEV_JWT_SECRET,
        issuer="workorders-dev",
        audience="workorders",
        now=lambda: datetime.now(UTC),
    )


async def test_notify_gets_the_phone_dispatch_logs_it_and_refuses_an_erased_resident(
    database_url: str,
) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        reporter = {"name": "张三", "phone": "13800000000"}
        wid = str((await api.report(reporter=reporter))["id"])
        key = api.dispatch.settings.privacy_keys().resident_reference
        ref = reporter_reference(
            key, TENANT, phone="13800000000", resident_id=None, work_order_id=wid
        )
        assert api.transport is not None
        async with httpx.AsyncClient(transport=api.transport) as client:
            contacts = DispatchContacts(client, "http://dispatch", tokens())

            assert await contacts.phone(TENANT, ref, wid) == "13800000000"
            log = await api.client.get(
                "/v1/privacy/access-log",
                params={"resident": ref},
                headers=auth(Role.PRIVACY_OFFICER),
            )
            # The report's own answer showed customer service the values (logged too).
            [entry] = [e for e in log.json()["items"] if e["role"] == "notifier"]
            assert (entry["role"], entry["purpose"]) == ("notifier", "notification")

            await api.dispatch.privacy.fields.erase(TENANT, ref)
            with pytest.raises(ResidentGone):
                await contacts.phone(TENANT, ref, wid)


async def test_dispatch_unreachable_is_a_failed_attempt_that_quotes_nothing() -> None:
    async with httpx.AsyncClient() as client:
        contacts = DispatchContacts(client, "http://127.0.0.1:9", tokens())
        with pytest.raises(DeliveryFailed, match="did not answer"):
            await contacts.phone(TENANT, "rsd_" + "a" * 24, "wo-1")
