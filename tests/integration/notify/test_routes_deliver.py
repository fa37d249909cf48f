"""Every default route delivers, on real channels, with the right template and language."""

from __future__ import annotations

import base64
from email.header import decode_header, make_header

from standardwebhooks.webhooks import Webhook

from services.notify.domain.config import Contact, Endpoint, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from tests.integration.notify.conftest import Harness, dump, webhook_contact
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, story

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()

# (template, recipient, channel) -> language, for the story of tests.unit.notify.builders.
RESIDENT = "resident:rsd_zhangsanzhangsanzhangsan"
RESIDENT_TEMPLATES = [
    "reported_receipt",
    "arrival_delay_agreed",
    "commitment_made",
    "postponed",
    "appointment_missed",
    "completed",
    "feedback_given",
    "progress_reported",
]
EXPECTED = {
    **{(tpl, RESIDENT, ch): "zh-CN" for tpl in RESIDENT_TEMPLATES for ch in ("inbox", "sms")},
    ("reported_owner", "person:cs-li", "email"): "zh-CN",
    ("reported_owner", "person:cs-li", "webhook"): "zh-CN",
    ("assigned", "person:tech-wang", "webhook"): "en",
    ("sla_warning", "person:tech-wang", "webhook"): "en",
    ("sla_breached", "person:cs-li", "email"): "zh-CN",
    ("sla_breached", "person:cs-li", "webhook"): "zh-CN",
    ("sla_escalated", "person:sup-chen", "webhook"): "en",
    ("sla_escalated", "person:sup-chen", "email"): "en",
    ("dispatch_pending", "person:sup-chen", "webhook"): "en",
    ("dispatch_pending", "person:sup-chen", "email"): "en",
    ("assigned", "person:tech-zhao", "email"): "zh-CN",
    ("reopened", "person:tech-zhao", "email"): "zh-CN",
    ("reopened", "person:cs-li", "email"): "zh-CN",
    ("reopened", "person:cs-li", "webhook"): "zh-CN",
    ("offered", "person:tech-wang", "webhook"): "en",
    ("owner_update", "person:cs-li", "email"): "zh-CN",
    ("owner_update", "person:cs-li", "webhook"): "zh-CN",
}
# The owner hears of these steps of the story, on each of their two channels.
OWNER_UPDATES = [
    "workorder.assigned",
    "workorder.reassigned",
    "workorder.postponed",
    "workorder.completed",
]


def expected_rows(channel: str | None = None) -> int:
    """Deliveries expected (on `channel`): one per key, the owner's updates once per step."""
    keys = [k for k in EXPECTED if channel is None or k[2] == channel]
    repeats = sum(len(OWNER_UPDATES) - 1 for k in keys if k[0] == "owner_update")
    return len(keys) + repeats


def config(hooks: str) -> NotifyConfig:
    """Staff reachable by webhook and e-mail in two languages; a supervisor by role."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={
                    "cs-li": Contact(
                        name="李客服",
                        channels=(ChannelName.EMAIL, ChannelName.WEBHOOK),
                        email="li@example.test",
                        webhook=Endpoint(url=f"{hooks}/cs-li", secret=SECRET),
                    ),
                    "tech-wang": webhook_contact(
                        "Wang", f"{hooks}/tech-wang", SECRET, language="en"
                    ),
                    "tech-zhao": Contact(
                        name="赵师傅", channels=(ChannelName.EMAIL,), email="zhao@example.test"
                    ),
                    "sup-chen": Contact(
                        name="Chen",
                        language="en-GB",
                        channels=(ChannelName.WEBHOOK, ChannelName.EMAIL),
                        email="chen@example.test",
                        webhook=Endpoint(url=f"{hooks}/sup-chen", secret=SECRET),
                    ),
                },
                roles={"supervisor": ("sup-chen",)},
            )
        }
    )


async def test_every_default_route_delivers_with_the_right_template_and_language(
    harness: Harness,
) -> None:
    async with http_receiver() as hooks, http_receiver() as sms:
        await harness.start(
            config(hooks.url), sms_endpoint=f"{sms.url}/send", sms_api_key="sms-key"
        )
        for sequence, data in enumerate(story(), start=1):
            await harness.publish(envelope(data, sequence))

        async def all_sent() -> bool:
            rows = await harness.deliveries()
            return len(rows) == expected_rows() and all(r["status"] == "sent" for r in rows)

        await eventually(all_sent, what="every delivery sent")
        rows = await harness.deliveries()
        got = {(r["template"], r["recipient"], r["channel"]): r["language"] for r in rows}
        assert got == EXPECTED, dump(rows)
        owner_steps = [
            r["event_type"]
            for r in rows
            if r["template"] == "owner_update" and r["channel"] == "email"
        ]
        # (Rows written in one instant have no order among themselves.)
        assert sorted(owner_steps) == sorted(OWNER_UPDATES), dump(rows)

        # Webhooks: signed per Standard Webhooks, verified by the reference implementation.
        verifier = Webhook(SECRET)
        by_id = {r["id"]: r for r in rows}
        assert len(hooks.requests) == expected_rows("webhook")
        for request in hooks.requests:
            payload = verifier.verify(request.body, request.headers)
            row = by_id[request.headers["webhook-id"]]
            assert request.path == "/" + row["recipient"].removeprefix("person:")
            assert payload["subject"] == row["subject"] and payload["text"] == row["body_text"]

        # E-mail: a real SMTP server got plain and HTML parts with the rendered subject.
        assert len(harness.smtp.messages) == expected_rows("email")
        # A subject can go to two people (a reopened repair: the technician and the owner).
        mailed = {(r["subject"], r["address"]): r for r in rows if r["channel"] == "email"}
        assert len(mailed) == len(harness.smtp.messages)
        for recipients, message in harness.smtp.messages:
            subject = str(make_header(decode_header(message["Subject"])))
            assert len(recipients) == 1
            row = mailed[(subject, recipients[0])]
            parts = {p.get_content_type(): p for p in message.walk()}
            assert set(parts) >= {"text/plain", "text/html"}
            payload = parts["text/plain"].get_payload(decode=True)
            assert isinstance(payload, bytes)  # a text part decodes to its bytes
            plain = payload.decode()
            assert row["body_text"] in plain.replace("\r\n", "\n")

        # SMS through the provider adapter, to the resident's phone with the key.
        assert len(sms.requests) == len(RESIDENT_TEMPLATES)
        for request in sms.requests:
            assert request.headers["authorization"] == "Bearer sms-key"
            assert request.json()["to"] == "13800000000"

        # Language really differs: English staff get English, Chinese get Chinese.
        assert by_subject(rows, "assigned", "person:tech-wang").startswith("New assignment")
        assert by_subject(rows, "assigned", "person:tech-zhao").startswith("新派工")
        assert "李客服" in by_text(rows, "reported_receipt", RESIDENT)

        # Each delivery is on the bus as notification.sent.
        await eventually(
            lambda: len(harness.events("notification.sent")) == expected_rows(),
            what="notification.sent events",
        )
        sent = harness.events("notification.sent")
        assert {e.data["delivery_id"] for e in sent} == set(by_id)
        assert all(e.subject == f"notification:{e.data['delivery_id']}" for e in sent)


def by_subject(rows: list[dict[str, object]], template: str, recipient: str) -> str:
    return str(
        next(r["subject"] for r in rows if (r["template"], r["recipient"]) == (template, recipient))
    )


def by_text(rows: list[dict[str, object]], template: str, recipient: str) -> str:
    return str(
        next(
            r["body_text"] for r in rows if (r["template"], r["recipient"]) == (template, recipient)
        )
    )
