"""E-mail over SMTP: one multipart/alternative message with a plain and an HTML part."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.notify.service_layer.ports import DeliveryFailed, OutboundMessage


def header_value(value: str) -> str:
    """`value` on one line: a line break in a header (a category or a name with CR/LF in a
    rendered subject) would be refused by the mail library, or end the header early."""
    return " ".join(part.strip() for part in value.splitlines() if part.strip())


class EmailChannel:
    """Sends through one SMTP server (STARTTLS and login when configured)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._start_tls = start_tls
        self._timeout = timeout

    async def send(self, message: OutboundMessage) -> None:
        """Send one e-mail; SMTP errors raise `DeliveryFailed`."""
        email = EmailMessage()
        email["From"] = header_value(self._sender)
        email["To"] = header_value(message.address)
        email["Subject"] = header_value(message.subject)
        # The delivery id as Message-ID lets a mail system drop a resend after a crash.
        email["Message-ID"] = f"<{message.delivery_id}@notify.workorders>"
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._start_tls,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP {self._host}:{self._port}: {exc}") from exc
