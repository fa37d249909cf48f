"""Who is reachable how, and which events go to whom: notify's configuration per tenant.

Until an on-duty roster exists, people and roles are a configured contact list: each
tenant names its staff (`contacts`), which of them hold a role (per project, or for
the whole tenant), how residents are reached, and may override the default routes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.notify.domain.digest import DigestPolicy
from services.notify.domain.model import DEFAULT_LANGUAGE, DEFAULT_TIME_ZONE, ChannelName
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.retry import RetryPolicy

URL_CHANNELS = frozenset(
    {ChannelName.WEBHOOK, ChannelName.WECOM, ChannelName.DINGTALK, ChannelName.FEISHU}
)
"""Channels that post to a configured URL, whose credential is often part of the URL."""


class Endpoint(BaseModel):
    """A URL to post to and, where the channel signs, its secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: Annotated[str, Field(pattern=r"^https?://")]
    secret: str | None = None


class Contact(BaseModel):
    """A staff member, a team's group chat or an integrator, and the channels that reach it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    language: str = DEFAULT_LANGUAGE
    channels: tuple[ChannelName, ...] = (ChannelName.INBOX,)
    email: str | None = None
    phone: str | None = None
    webhook: Endpoint | None = None
    wecom: Endpoint | None = None
    dingtalk: Endpoint | None = None
    feishu: Endpoint | None = None

    @model_validator(mode="after")
    def _addresses_present(self) -> Contact:
        needs = {
            ChannelName.EMAIL: self.email,
            ChannelName.SMS: self.phone,
            ChannelName.WEBHOOK: self.webhook,
            ChannelName.WECOM: self.wecom,
            ChannelName.DINGTALK: self.dingtalk,
            ChannelName.FEISHU: self.feishu,
        }
        if ChannelName.NONE in self.channels:
            raise ValueError("'none' is not a channel a contact can be reached on")
        missing = [str(c) for c in self.channels if c in needs and needs[c] is None]
        if missing:
            raise ValueError(f"channels {missing} need their address on the contact")
        return self

    def endpoint(self, channel: ChannelName) -> Endpoint | None:
        """The URL endpoint of a URL-based channel."""
        return {
            ChannelName.WEBHOOK: self.webhook,
            ChannelName.WECOM: self.wecom,
            ChannelName.DINGTALK: self.dingtalk,
            ChannelName.FEISHU: self.feishu,
        }.get(channel)

    def address(self, channel: ChannelName, person_id: str) -> str | None:
        """What the row of a delivery on `channel` records as its address.

        A robot's or webhook's URL carries its credential (WeCom `key=`, DingTalk
        `access_token=`, a token in the path): the row names the contact instead, and
        the sender looks the endpoint up when it sends.
        """
        if channel is ChannelName.INBOX:
            return person_id
        if channel is ChannelName.EMAIL:
            return self.email
        if channel is ChannelName.SMS:
            return self.phone
        return person_id if self.endpoint(channel) is not None else None


class RouteTarget(BaseModel):
    """One recipient of an event and the template it gets.

    `recipient` is `resident`, `owner`, `assignee`, `offered` (every technician an offer
    names), `escalation_target`, `role:<role>` (e.g. `role:supervisor`) or `person:<id>`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient: Annotated[
        str,
        Field(
            pattern=r"^(resident|owner|assignee|offered|escalation_target|role:[a-z_]+|person:.+)$"
        ),
    ]
    template: Annotated[str, Field(pattern=r"^[a-z_]+$")]


Routes = dict[str, tuple[RouteTarget, ...]]
"""Event type (`workorder.completed`) -> who hears of it; an empty tuple silences a type."""


def _t(recipient: str, template: str) -> RouteTarget:
    return RouteTarget(recipient=recipient, template=template)


# 首按责任制: the owner (第一接待人) answers to the resident until they are satisfied, so
# every step that changes what the owner promised them reaches the owner too: assigned,
# arrival, postponed, completed ("处理完毕后……并告知第一接待人"), reopened, breached.
_OWNER_TOLD = _t("owner", "owner_update")

DEFAULT_ROUTES: Routes = {
    "workorder.reported": (_t("resident", "reported_receipt"), _t("owner", "reported_owner")),
    # An offer nobody hears of expires unseen: each technician offered the work is told
    # what it is, until when, and how to accept it.
    "workorder.offered": (_t("offered", "offered"),),
    "workorder.assigned": (_t("assignee", "assigned"), _OWNER_TOLD),
    "workorder.reassigned": (_t("assignee", "assigned"), _OWNER_TOLD),
    "workorder.arrived": (_OWNER_TOLD,),
    # 退单/转单: the owner must know their order has no technician for now.
    "workorder.assignment_returned": (_OWNER_TOLD,),
    "workorder.arrival_delay_agreed": (_t("resident", "arrival_delay_agreed"),),
    "workorder.postponed": (_t("resident", "postponed"), _OWNER_TOLD),
    "workorder.commitment_made": (_t("resident", "commitment_made"),),
    # A long fix is reported to the resident every week ("整改周期较长的应每周向客户汇报
    # 整改进度"): the report is the message, not only a record.
    "workorder.progress_reported": (_t("resident", "progress_reported"),),
    "workorder.appointment_missed": (_t("resident", "appointment_missed"),),
    "workorder.completed": (_t("resident", "completed"), _OWNER_TOLD),
    "workorder.feedback_given": (_t("resident", "feedback_given"),),
    # A reopened repair (返修) goes back to the technician who did it; the owner answers
    # for the order and follows it up.
    "workorder.reopened": (_t("assignee", "reopened"), _t("owner", "reopened")),
    "workorder.sla_warning_raised": (_t("assignee", "sla_warning"),),
    # A breach names nobody; the owner answers for the order (首按责任制). The ladder's
    # `breach` step (an `sla_escalated` event) names who else hears of it.
    "workorder.sla_clock_breached": (_t("owner", "sla_breached"),),
    "workorder.sla_escalated": (_t("escalation_target", "sla_escalated"),),
    "workorder.dispatch_pending": (_t("escalation_target", "dispatch_pending"),),
}
"""The routes every tenant gets unless it overrides them."""

ALERT_TYPES = frozenset(
    {
        "workorder.sla_warning_raised",
        "workorder.sla_clock_breached",
        "workorder.sla_escalated",
        "workorder.dispatch_pending",
    }
)
"""Staff alerts: never held by quiet hours, collapsed into digests in a storm."""


class ProjectConfig(BaseModel):
    """What one project changes of its tenant's configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    routes: Routes = Field(default_factory=dict)
    time_zone: str | None = None
    """Overrides the time zone registered with the project (from its events)."""
    quiet_hours: QuietHours | None = None


class TenantConfig(BaseModel):
    """One tenant's contacts, roles, routes and policies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contacts: dict[str, Contact] = Field(default_factory=dict)
    roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Role (`supervisor`, `project_manager`, ...) -> person ids, for every project."""
    routes: Routes = Field(default_factory=dict)
    projects: dict[str, ProjectConfig] = Field(default_factory=dict)
    resident_channels: tuple[ChannelName, ...] = (ChannelName.INBOX, ChannelName.SMS)
    """How residents are reached: the inbox (with a resident login) and SMS (with a phone)."""
    resident_language: str = DEFAULT_LANGUAGE
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    digest: DigestPolicy = Field(default_factory=DigestPolicy)
    operator: str | None = None
    """The contact told of every message that reached nobody (an escalation to a role
    nobody holds): the tenant's operator desk. Must be one of `contacts`."""

    @model_validator(mode="after")
    def _known_people(self) -> TenantConfig:
        role_maps = [self.roles, *(p.roles for p in self.projects.values())]
        unknown = sorted(
            {pid for roles in role_maps for ids in roles.values() for pid in ids}
            - set(self.contacts)
        )
        if unknown:
            raise ValueError(f"roles name people missing from contacts: {unknown}")
        if self.operator is not None and self.operator not in self.contacts:
            raise ValueError(f"the operator {self.operator!r} is missing from contacts")
        return self

    def routes_for(self, project: str, event_type: str) -> tuple[RouteTarget, ...]:
        """The route of an event type: the project's, else the tenant's, else the default."""
        project_config = self.projects.get(project)
        if project_config is not None and event_type in project_config.routes:
            return project_config.routes[event_type]
        if event_type in self.routes:
            return self.routes[event_type]
        return DEFAULT_ROUTES.get(event_type, ())

    def people_in_role(self, project: str, role: str) -> tuple[str, ...]:
        """Person ids holding `role` in `project` (the project's list wins over the tenant's)."""
        project_config = self.projects.get(project)
        if project_config is not None and role in project_config.roles:
            return project_config.roles[role]
        return self.roles.get(role, ())

    def time_zone_for(self, project: str, registered: str | None) -> str:
        """The time zone a project's messages are timed and shown in: the project's
        configured one, else the one it registered with, else the default."""
        project_config = self.projects.get(project)
        if project_config is not None and project_config.time_zone:
            return project_config.time_zone
        return registered or DEFAULT_TIME_ZONE

    def quiet_hours_for(self, project: str) -> QuietHours:
        """The project's quiet hours, else the tenant's."""
        project_config = self.projects.get(project)
        if project_config is not None and project_config.quiet_hours is not None:
            return project_config.quiet_hours
        return self.quiet_hours


class NotifyConfig(BaseModel):
    """The whole configuration: per tenant, with `default` for tenants not listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantConfig] = Field(default_factory=dict)
    default: TenantConfig = Field(default_factory=TenantConfig)
    retry: dict[ChannelName, RetryPolicy] = Field(default_factory=dict)
    """Per-channel retry policies; channels not listed get `RetryPolicy()`."""

    def tenant(self, tenant: str) -> TenantConfig:
        """The configuration of `tenant`."""
        return self.tenants.get(tenant, self.default)

    def retry_policy(self, channel: ChannelName) -> RetryPolicy:
        """The retry policy of a channel."""
        return self.retry.get(channel, RetryPolicy())
