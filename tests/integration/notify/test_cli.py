"""`wo notify dead-letters` and `wo notify retry` on notify's database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from services.notify.domain.config import NotifyConfig, RouteTarget, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from tests.integration.notify.conftest import Harness, webhook_contact
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, reported
from wo.cli import app

SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


async def test_an_operator_lists_and_retries_a_dead_delivery(harness: Harness) -> None:
    async with http_receiver(default_status=410) as hooks:
        config = NotifyConfig(
            tenants={
                TENANT: TenantConfig(
                    contacts={"cs-li": webhook_contact("李客服", f"{hooks.url}/li", SECRET)},
                    routes={
                        "workorder.reported": (
                            RouteTarget(recipient="owner", template="reported_owner"),
                        )
                    },
                )
            },
            retry={ChannelName.WEBHOOK: RetryPolicy(max_attempts=1)},
        )
        await harness.start(config)
        await harness.publish(envelope(reported(), 1))

        async def dead() -> bool:
            rows = await harness.deliveries()
            return bool(rows) and rows[0]["status"] == "dead"

        await eventually(dead, what="the delivery to die")
        delivery = (await harness.deliveries())[0]
        await harness.stop()

        runner = CliRunner()
        # The command starts notify's parts, token verifier included, with the dev secret.
        env = {
            "NOTIFY_DATABASE_URL": harness.database_url,
            "COLUMNS": "200",
            "ENVIRONMENT": "development",
        }
        listed = await asyncio.to_thread(
            runner.invoke, app, ["notify", "dead-letters"], env=env, terminal_width=200
        )
        assert listed.exit_code == 0, listed.output
        assert delivery["id"] in listed.output and "410" in listed.output

        retried = await asyncio.to_thread(runner.invoke, app, ["notify", "retry", "1"], env=env)
        assert retried.exit_code == 0, retried.output
        assert "delivery queued again" in retried.output
        again = await asyncio.to_thread(runner.invoke, app, ["notify", "retry", "1"], env=env)
        assert again.exit_code == 1 and "was retried" in again.output

        # A running notify sends what the retry queued (due at the CLI's wall-clock now).
        hooks.default_status = 200
        harness.clock.advance(datetime.now(UTC) - harness.clock.now() + timedelta(seconds=1))
        await harness.start(config)

        async def sent() -> bool:
            return await harness.first_status() == "sent"

        await eventually(sent, what="the retried delivery sent")
