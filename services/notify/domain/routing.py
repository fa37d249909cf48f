"""Routing (通知路由): from a work-order event to the messages it causes.

Later events do not repeat who the resident, owner or technician is, so notify folds
what it needs of each work order (`WorkOrderFacts`) from the events it consumes. Of the
resident it keeps their pseudonymous reference and the masks of their name and phone,
never the clear values (an event recorded before masking is masked as it is folded): a
message greets them by the mask, and an SMS gets their phone from dispatch when it is
sent. It keeps also
the names people read instead of ids (the order's number, the project's and building's
names, the staff members' names), which dispatch puts in its events. Events recorded
before dispatch carried them leave them empty, and messages fall back to short forms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from services.notify.domain.config import ALERT_TYPES, Contact, RouteTarget, TenantConfig
from services.notify.domain.model import (
    Audience,
    ChannelName,
    PlannedMessage,
    Recipient,
    language_of,
)
from shared.privacy.masking import mask_name, mask_phone
from shared.privacy.pseudonym import reporter_reference

SUPERVISOR = "supervisor"
"""The role a pending order escalates to when dispatch found nobody on duty for it."""


@dataclass(frozen=True, slots=True)
class WorkOrderFacts:
    """What notify knows of a work order: its people, place and urgency."""

    kind: str = ""
    category: str = ""
    urgency: str = "normal"
    description: str = ""
    building: str | None = None
    unit: str | None = None
    resident_name: str = ""
    """Masked (`王*`)."""
    resident_phone: str | None = None
    """Masked (`138****0000`)."""
    resident_id: str | None = None
    resident: str | None = None
    """The resident's pseudonymous reference (`rsd_...`); None in events recorded before
    references."""
    resident_erased: bool = False
    """The resident was erased: nothing more is sent to them about this order."""
    owner: str | None = None
    assignee: str | None = None
    number: str | None = None
    project_name: str | None = None
    building_name: str | None = None
    owner_name: str | None = None
    assignee_name: str | None = None

    @property
    def urgent(self) -> bool:
        """Urgent orders skip quiet hours."""
        return self.urgency == "urgent"

    def to_json(self) -> dict[str, Any]:
        """A plain dict for storage."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkOrderFacts:
        """Read back what `to_json` stored (unknown keys are ignored)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


def fold(facts: WorkOrderFacts, event_type: str, data: dict[str, Any]) -> WorkOrderFacts:
    """The facts after one work-order event."""
    if event_type == "workorder.reported":
        location = data.get("location") or {}
        reporter = data.get("reporter") or {}
        return WorkOrderFacts(
            kind=data["kind"],
            category=data["category"],
            urgency=data["urgency"],
            description=data["description"],
            building=location.get("building"),
            unit=location.get("unit"),
            # Masks are idempotent: an event that carries masks already reads the same.
            resident_name=mask_name(reporter["name"]),
            resident_phone=mask_phone(reporter["phone"]) if reporter.get("phone") else None,
            resident_id=reporter.get("resident_id"),
            resident=reporter.get("resident"),
            owner=data["owner"],
            number=data.get("number"),
            project_name=data.get("project_name"),
            building_name=data.get("building_name"),
            owner_name=data.get("owner_name"),
        )
    if event_type == "workorder.owner_transferred":
        return replace(facts, owner=data["to_owner"], owner_name=data.get("to_owner_name"))
    if event_type == "workorder.assigned":
        return replace(facts, assignee=data["assignee"], assignee_name=data.get("assignee_name"))
    if event_type == "workorder.reassigned":
        return replace(
            facts, assignee=data["to_assignee"], assignee_name=data.get("to_assignee_name")
        )
    if event_type == "workorder.assignment_returned":
        # The name stays: it is the returning technician's, which the owner's message
        # about the return shows (`technician_name`); with no assignee it names nobody else.
        return replace(facts, assignee=None)
    if event_type == "workorder.urgency_changed":
        return replace(facts, urgency=data["to_urgency"])
    return facts


def with_reference(
    data: dict[str, Any], key: bytes, tenant: str, work_order_id: str
) -> dict[str, Any]:
    """A `workorder.reported` event's data with its reporter's reference: as carried, or
    (an event recorded before references, with clear values) derived as dispatch derives
    it, under the same key, so the SMS can still ask dispatch for the phone."""
    reporter = data.get("reporter") or {}
    if reporter.get("resident"):
        return data
    reference = reporter_reference(
        key,
        tenant,
        phone=reporter.get("phone"),
        resident_id=reporter.get("resident_id"),
        work_order_id=work_order_id,
    )
    return {**data, "reporter": {**reporter, "resident": reference}}


def forget_resident(facts: WorkOrderFacts) -> WorkOrderFacts:
    """The facts after the resident who reported was erased: no name, no phone, and no
    message to them any more; their reference stays (it names nobody without the key)."""
    return replace(
        facts, resident_name="", resident_phone=None, resident_id=None, resident_erased=True
    )


@dataclass(frozen=True, slots=True)
class Unreached:
    """A route target that resolved to nobody (e.g. a role with no configured contact).

    `target` is the route's recipient (`escalation_target`, `role:project_manager`) or
    the person no channel reached (`person:<id>`); `template` is what they would have got.
    """

    target: str
    reason: str
    template: str = ""


def operator_fallback(
    unreached: list[Unreached], config: TenantConfig, urgent: bool, alert: bool
) -> list[PlannedMessage]:
    """The messages that tell the tenant's operator contact what reached nobody.

    An escalation nobody receives must still reach a person who answers for the tenant;
    without an operator configured there is nobody to fall back to (the unreached
    deliveries stay on record, visible in `GET /v1/deliveries?status=unreached`).
    Messages to residents are not passed on: a resident without login or phone is
    reached by the staff who call them back, not by the operator desk.
    """
    staff = [miss for miss in unreached if not miss.target.startswith("resident")]
    if config.operator is None or not staff:
        return []
    operator = person(config.operator, config)
    # One message per channel (a delivery is unique per event, recipient and channel):
    # the template of the first target missed.
    template = next((miss.template for miss in staff if miss.template), None)
    if template is None:
        return []
    return [
        PlannedMessage(operator, channel, address, template, urgent=urgent, alert=alert)
        for channel, address in operator.addresses.items()
    ]


def plan(
    event_type: str,
    data: dict[str, Any],
    facts: WorkOrderFacts,
    config: TenantConfig,
    project: str,
) -> tuple[list[PlannedMessage], list[Unreached]]:
    """Every message an event causes under the tenant's routes, and whom it could not reach."""
    messages: list[PlannedMessage] = []
    unreached: list[Unreached] = []
    alert = event_type in ALERT_TYPES
    for target in config.routes_for(project, event_type):
        if facts.resident_erased and target.recipient.startswith("resident"):
            continue  # an erased resident is sent nothing more, nor recorded as missed
        recipients = _resolve(target, data, facts, config, project)
        if not recipients:
            unreached.append(Unreached(target.recipient, "no contact configured", target.template))
        for recipient in recipients:
            if not recipient.addresses:
                unreached.append(
                    Unreached(recipient.key, "no channel reaches this recipient", target.template)
                )
            for channel, address in recipient.addresses.items():
                messages.append(
                    PlannedMessage(
                        recipient=recipient,
                        channel=channel,
                        address=address,
                        template=target.template,
                        urgent=facts.urgent,
                        alert=alert,
                    )
                )
    return _unique(messages), unreached


def _unique(messages: list[PlannedMessage]) -> list[PlannedMessage]:
    # Two targets may resolve to one person (owner and supervisor): one message each.
    seen: set[tuple[str, ChannelName]] = set()
    unique = []
    for message in messages:
        key = (message.recipient.key, message.channel)
        if key not in seen:
            seen.add(key)
            unique.append(message)
    return unique


def _resolve(
    target: RouteTarget,
    data: dict[str, Any],
    facts: WorkOrderFacts,
    config: TenantConfig,
    project: str,
) -> list[Recipient]:
    kind, _, rest = target.recipient.partition(":")
    if kind == "resident":
        reachable = facts.resident or facts.resident_id or facts.resident_phone
        return [resident(facts, config)] if reachable else []
    if kind == "owner":
        return _people([facts.owner], config)
    if kind == "assignee":
        return _people([data.get("to_assignee") or data.get("assignee") or facts.assignee], config)
    if kind == "offered":
        return _people([offer.get("technician") for offer in data.get("offers") or ()], config)
    if kind == "person":
        return _people([rest], config)
    if kind == "role":
        return _people(list(config.people_in_role(project, rest)), config)
    # escalation_target: the person named in the event; else the people dispatch found
    # on duty for it (an SLA step's `to_people`, a pending order's `escalated_to`); else
    # the role it names (a pending order's is the supervisors) from the contact list.
    if data.get("to_person"):
        return _people([data["to_person"]], config)
    on_duty = data.get("to_people") or data.get("escalated_to")
    if on_duty:
        return _people(list(on_duty), config)
    role = data.get("to_role") or (SUPERVISOR if "escalation" in data else None)
    if role == "owner":
        return _people([facts.owner], config)
    if role == "assignee":
        return _people([facts.assignee], config)
    return _people(list(config.people_in_role(project, str(role))), config) if role else []


def resident(facts: WorkOrderFacts, config: TenantConfig) -> Recipient:
    """The resident who reported, reached on the tenant's resident channels: the inbox of
    their login, and SMS to their phone (the row holds the mask; the number is asked of
    dispatch at send time)."""
    addresses: dict[ChannelName, str] = {}
    for channel in config.resident_channels:
        if channel is ChannelName.INBOX and facts.resident_id:
            addresses[channel] = facts.resident_id
        elif channel is ChannelName.SMS and facts.resident_phone:
            addresses[channel] = facts.resident_phone
    key = facts.resident or facts.resident_id or f"phone:{facts.resident_phone}"
    return Recipient(
        key=f"resident:{key}",
        audience=Audience.RESIDENT,
        name=facts.resident_name,
        language=language_of(config.resident_language),
        addresses=addresses,
    )


def _people(ids: list[str | None], config: TenantConfig) -> list[Recipient]:
    return [person(pid, config) for pid in ids if pid]


def person(person_id: str, config: TenantConfig) -> Recipient:
    """A staff member (or team robot) from the contact list; unknown people get the inbox."""
    contact = config.contacts.get(person_id) or Contact(language=config.resident_language)
    addresses: dict[ChannelName, str] = {}
    for channel in contact.channels:
        address = contact.address(channel, person_id)
        if address is not None:
            addresses[channel] = address
    return Recipient(
        key=f"person:{person_id}",
        audience=Audience.STAFF,
        name=contact.name or person_id,
        language=language_of(contact.language),
        addresses=addresses,
    )


def display_name(person_id: str | None, config: TenantConfig, carried: str | None = None) -> str:
    """A person's name: the one dispatch's staff directory gave in the event (`carried`),
    else the contact list's, else their id (events recorded before names were carried)."""
    if not person_id:
        return ""
    if carried:
        return carried
    contact = config.contacts.get(person_id)
    return contact.name if contact is not None and contact.name else person_id


SHORT_REFERENCE = 8
"""How much of a work order's id stands for it where it has no number (old events)."""


def order_reference(facts: WorkOrderFacts, work_order_id: str) -> str:
    """What a message calls the work order: its number, else the id's first characters
    (an order reported before numbers existed; the full id is for machines)."""
    return facts.number or work_order_id[:SHORT_REFERENCE]


def place(facts: WorkOrderFacts) -> str:
    """Where the work is, as a resident would say it: the building's registered name
    (2号楼) where dispatch gave one, else the building as reported, then the unit."""
    building = facts.building_name or facts.building
    return " ".join(part for part in (building, facts.unit) if part) or "-"
