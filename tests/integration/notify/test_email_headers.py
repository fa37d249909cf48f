"""E-mail headers stay one line each, whatever a category or a name holds."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header

from services.notify.adapters.channels.email import EmailChannel
from services.notify.service_layer.ports import OutboundMessage
from tests.integration.notify.support import SmtpReceiver


async def test_a_line_break_in_the_subject_is_stripped_and_adds_no_header(
    smtp: SmtpReceiver,
) -> None:
    channel = EmailChannel("127.0.0.1", smtp.port, "notify@example.test")
    message = OutboundMessage(
        delivery_id="d-crlf",
        tenant="demo",
        project="sunny-garden",
        recipient="person:cs-li",
        recipient_name="李客服",
        address="li@example.test\r\n",
        secret=None,
        subject="新工单：plumbing\r\nBcc: evil@example.test\nX-Injected: yes",
        text="厨房水管漏水",
        html="<p>厨房水管漏水</p>",
        event_type="workorder.reported",
        work_order_id="wo-1",
        created_at=datetime.now(UTC),
    )

    await channel.send(message)

    [(recipients, mail)] = smtp.messages
    assert recipients == ["li@example.test"]
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "新工单：plumbing Bcc: evil@example.test X-Injected: yes"
    assert mail["To"] == "li@example.test"
