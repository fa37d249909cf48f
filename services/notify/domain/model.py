"""The words of notify: channels, recipients, delivery states, and one planned message."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChannelName(StrEnum):
    """How a message reaches a person or a system."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"
    INBOX = "inbox"
    WECOM = "wecom"
    """企业微信 group robot."""
    DINGTALK = "dingtalk"
    """钉钉 group robot."""
    FEISHU = "feishu"
    """飞书 group robot."""
    NONE = "none"
    """No channel: the channel of an unreached delivery; a contact cannot name it."""


class DeliveryStatus(StrEnum):
    """Where one delivery (event x recipient x channel) stands.

    `digested` waits to go out inside the recipient's digest of its window; a digest
    that was sent marks its items `sent`.
    """

    QUEUED = "queued"
    DEFERRED = "deferred"
    DIGESTED = "digested"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"
    """Never to be sent, for a reason on the row (`status_reason`): the resident was
    erased (`resident_erased`), or their phone cannot be had (`no_resident_reference`,
    `no_phone`)."""
    UNREACHED = "unreached"
    """A route target no channel reaches (a role nobody holds, a resident without login
    or phone, a channel not configured): recorded, never sent; the tenant's operator
    contact is told instead when one is configured."""


class Audience(StrEnum):
    """Residents (业主) get quiet hours; staff alerts go at once."""

    RESIDENT = "resident"
    STAFF = "staff"


LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
"""A project's time zone until it registers one (or its configuration names one)."""


def language_of(preferred: str | None) -> str:
    """The template language for a recipient's preference: exact, by prefix, else zh-CN."""
    if not preferred:
        return DEFAULT_LANGUAGE
    for language in LANGUAGES:
        if preferred.lower() == language.lower():
            return language
    prefix = preferred.split("-", 1)[0].lower()
    for language in LANGUAGES:
        if language.split("-", 1)[0].lower() == prefix:
            return language
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Recipient:
    """A resolved recipient: a stable key, who they are and where to reach them.

    `key` is `resident:<reference>` (`rsd_...`; for events recorded before references,
    `resident:<login>` or `resident:phone:<masked phone>`) or `person:<id>`; `addresses`
    maps each channel the recipient is reached on to its address (phone, e-mail, URL,
    inbox owner). A resident's name and phone are masks: their phone is asked of dispatch
    when an SMS is sent.
    """

    key: str
    audience: Audience
    name: str
    language: str
    addresses: dict[ChannelName, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One message to send for an event: recipient, channel, template and timing facts."""

    recipient: Recipient
    channel: ChannelName
    address: str
    template: str
    urgent: bool
    alert: bool
    """A staff alert (SLA warning, breach, escalation): counted towards digests."""

    def dedup_key(self, event_id: str) -> str:
        """The idempotency key: one delivery per (event id, recipient, channel)."""
        return f"{event_id}|{self.recipient.key}|{self.channel}"
