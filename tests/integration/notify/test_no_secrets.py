"""No credential of any channel reaches an answer, an event or a log line of notify.

Every kind of secret a channel carries is configured (WeCom `key=`, DingTalk
`access_token=` and signing secret, Feishu's hook token in the path and its signing
secret, an integrator's `user:password@` and `?token=` and its `whsec_` secret, the SMS
provider's key in its URL and its API key); deliveries succeed, fail, die and cannot
connect; then every answer of notify's API, every event it published and everything it
logged is searched for each secret.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

from services.notify.domain.config import (
    Contact,
    Endpoint,
    NotifyConfig,
    RouteTarget,
    TenantConfig,
)
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from shared.auth import Role
from tests.integration.notify.conftest import Harness, dump, token
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, reported
from wo.processes import free_port

WECOM_KEY = "wecom-key-7f3a9c2e51d4"
DING_TOKEN = "ding-access-token-4b8e0d17a2"
DING_SECRET = "SECding-sign-5c1e9f77"
FEISHU_TOKEN = "feishu-hook-2d7c6b19e0aa"
FEISHU_SECRET = "feishu-sign-secret-88"
HOOK_USER = "hook-user-31"
HOOK_PASSWORD = "hook-password-91c2"
HOOK_TOKEN = "hook-query-token-3e5d"
WHSEC = "whsec_" + base64.b64encode(b"integrator-signing-key-0123456789").decode()
SMS_URL_KEY = "sms-url-key-6a2f00"
SMS_API_KEY = "sms-api-key-0d9e4c"
SECRETS = [
    WECOM_KEY,
    DING_TOKEN,
    DING_SECRET,
    FEISHU_TOKEN,
    FEISHU_SECRET,
    HOOK_USER,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    WHSEC,
    WHSEC.removeprefix("whsec_"),
    SMS_URL_KEY,
    SMS_API_KEY,
]


def _robots(base: str) -> dict[str, Endpoint]:
    """The four URL channels' endpoints on a receiver, each with its credentials."""
    host = base.removeprefix("http://")
    return {
        "wecom": Endpoint(url=f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}"),
        "dingtalk": Endpoint(
            url=f"{base}/robot/send?access_token={DING_TOKEN}", secret=DING_SECRET
        ),
        "feishu": Endpoint(
            url=f"{base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}", secret=FEISHU_SECRET
        ),
        "webhook": Endpoint(
            url=f"http://{HOOK_USER}:{HOOK_PASSWORD}@{host}/hooks?token={HOOK_TOKEN}", secret=WHSEC
        ),
    }


def _contacts(name: str, base: str) -> dict[str, Contact]:
    return {
        f"{kind}-{name}": Contact(channels=(ChannelName(kind),), **{kind: endpoint})
        for kind, endpoint in _robots(base).items()
    }


def secret_config(ok: str, failing: str, closed: str) -> NotifyConfig:
    """Every URL channel on a receiver that answers 200, one that answers 500 and a port
    nobody listens on; an SMS recipient; all of them supervisors, told of every report."""
    contacts = {
        **_contacts("ok", ok),
        **_contacts("failing", failing),
        **_contacts("closed", closed),
        "tech-sms": Contact(channels=(ChannelName.SMS,), phone="13900000000"),
    }
    quick = RetryPolicy(max_attempts=2, backoff_seconds=(0.05,))
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts=contacts,
                roles={"supervisor": tuple(contacts)},
                routes={
                    "workorder.reported": (
                        RouteTarget(recipient="role:supervisor", template="reported_owner"),
                    )
                },
                resident_channels=(),
            )
        },
        retry=dict.fromkeys(ChannelName, quick),
    )


async def test_no_secret_reaches_an_answer_an_event_or_a_log_line(
    harness: Harness, log_output: Callable[[], str]
) -> None:
    async with http_receiver() as ok, http_receiver(default_status=500) as failing:
        closed = f"http://127.0.0.1:{free_port()}"
        await harness.start(
            secret_config(ok.url, failing.url, closed),
            sms_endpoint=f"{failing.url}/sms/send?key={SMS_URL_KEY}",
            sms_api_key=SMS_API_KEY,
        )
        await harness.publish(envelope(reported(), 1))

        async def all_settled() -> bool:
            rows = await harness.deliveries()
            if any(r["status"] == "failed" for r in rows):
                harness.clock.advance(timedelta(seconds=1))  # the retry falls due
            return len(rows) == 13 and all(r["status"] in ("sent", "dead") for r in rows)

        await eventually(all_settled, what="every delivery sent or dead")
        rows = await harness.deliveries()
        by_status = {s: sum(r["status"] == s for r in rows) for s in ("sent", "dead")}
        assert by_status == {"sent": 4, "dead": 9}, dump(rows)
        # The receivers were reached with the credentials: only the records lack them.
        assert any(WECOM_KEY in r.path for r in ok.requests)

        headers = token(Role.SUPERVISOR, "sup-chen")
        async with harness.api() as api:
            answers = [await api.get("/v1/deliveries", headers=headers)]
            answers += [await api.get(f"/v1/deliveries/{r['id']}", headers=headers) for r in rows]
            answers.append(await api.get("/v1/dead-letters?kind=delivery", headers=headers))
            answers.append(await api.get("/v1/dead-letters?include_retried=true", headers=headers))
        assert all(a.status_code == 200 for a in answers)
        listed = answers[0].json()
        # A URL channel's delivery names its contact instead of the URL.
        assert {r["address"] for r in listed if r["channel"] == "wecom"} == {
            "wecom-ok",
            "wecom-failing",
            "wecom-closed",
        }
        dead_letters = answers[-2].json()
        assert len(dead_letters) == 9
        assert any("answered 500" in d["error"] for d in dead_letters)

        texts = {
            "answers": "\n".join(a.text for a in answers),
            "rows": dump(rows),
            "events": "\n".join(e.to_json().decode() for e in harness.published),
            "log": log_output(),
        }
        assert "notify.delivery_dead" in texts["log"]
        leaks = {
            (where, secret) for where, text in texts.items() for secret in SECRETS if secret in text
        }
        assert leaks == set()
