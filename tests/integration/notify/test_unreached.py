"""An escalation that reaches nobody is a delivery in state `unreached`, on record and on
the bus, and the tenant's operator contact hears of it instead."""

from __future__ import annotations

from pathlib import Path

from services.notify.domain.config import Contact, NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from shared.events.sla import EscalationRole, SlaEscalated
from tests.integration.dispatch.api_support import TENANT as DISPATCH_TENANT
from tests.integration.dispatch.api_support import running_api
from tests.integration.dispatch.assignment_support import hire
from tests.integration.notify.conftest import Harness, dump, token
from tests.integration.notify.support import eventually
from tests.integration.notify.test_roster_escalation import breach_and_wait_half_an_hour
from tests.unit.notify.builders import T0, TENANT, envelope, reported, sla_fields
from wo.demo import DEMO_TENANT, demo_notify_config

OPERATOR = {"ops-desk": Contact(name="运营值班")}


def escalation_to_managers() -> SlaEscalated:
    """The breach+30m step to the project manager, with nobody named by dispatch."""
    return SlaEscalated(
        **sla_fields(),
        due_at=T0,
        level=2,
        trigger="breach+30m",
        to_role=EscalationRole.PROJECT_MANAGER,
        scheduled_for=T0,
        detected_at=T0,
    )


async def test_unreachable_escalation_is_recorded_unreached(harness: Harness) -> None:
    await harness.start(
        NotifyConfig(tenants={TENANT: TenantConfig(contacts=OPERATOR, operator="ops-desk")})
    )
    await harness.publish(envelope(reported(), 1))
    await harness.publish(envelope(escalation_to_managers(), 2))

    async def recorded() -> bool:
        unreached = await harness.deliveries(status="unreached")
        told = await harness.deliveries(recipient="person:ops-desk", status="sent")
        return len(unreached) == 1 and len(told) == 1

    await eventually(recorded, what="the unreached delivery and the operator's message")
    async with harness.api() as api:
        listed = await api.get(
            "/v1/deliveries",
            params={"status": "unreached"},
            headers=token(Role.SUPERVISOR, "sup-chen"),
        )
    [row] = listed.json()
    assert (row["recipient"], row["channel"], row["template"]) == (
        "escalation_target",
        "none",
        "sla_escalated",
    ), dump([row])
    assert row["event_type"] == "workorder.sla_escalated"
    [told] = await harness.deliveries(recipient="person:ops-desk")
    assert told["template"] == "sla_escalated"
    await eventually(
        lambda: len(harness.events("notification.unreached")) == 1, what="notification.unreached"
    )
    [event] = harness.events("notification.unreached")
    assert event.data["delivery_id"] == row["id"]
    assert (event.data["channel"], event.data["fallback"]) == ("none", "ops-desk")


async def test_without_an_operator_the_unreached_delivery_is_still_recorded(
    harness: Harness,
) -> None:
    await harness.start(NotifyConfig())
    await harness.publish(envelope(reported(), 1))
    await harness.publish(envelope(escalation_to_managers(), 2))

    async def recorded() -> bool:
        return len(await harness.deliveries(status="unreached")) == 1

    await eventually(recorded, what="the unreached delivery")
    await eventually(
        lambda: len(harness.events("notification.unreached")) == 1, what="notification.unreached"
    )
    assert harness.events("notification.unreached")[0].data["fallback"] is None


async def test_a_managers_escalation_dispatch_names_nobody_for_reaches_the_operator(
    harness: Harness, tmp_path: Path
) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        await hire(api, "sup-day", role="supervisor")
        events = await breach_and_wait_half_an_hour(api)

    await harness.start(
        NotifyConfig(
            tenants={DISPATCH_TENANT: TenantConfig(contacts=OPERATOR, operator="ops-desk")}
        )
    )
    for item in events:
        await harness.publish(Envelope.model_validate(item))

    async def operator_told() -> bool:
        rows = await harness.deliveries(recipient="person:ops-desk", status="sent")
        missed = await harness.deliveries(status="unreached", event_type="workorder.sla_escalated")
        return len(rows) >= 1 and len(missed) == 2

    await eventually(operator_told, what="the operator told of the unreached escalation")
    unreached = await harness.deliveries(status="unreached", event_type="workorder.sla_escalated")
    # The breach step to the assignee (nobody is assigned yet) and the project managers'
    # step half an hour later (the directory names none, the contact list neither).
    assert [(r["recipient"], r["template"]) for r in unreached] == [
        ("escalation_target", "sla_escalated")
    ] * 2, dump(unreached)


def test_the_demo_tenant_of_wo_up_names_an_operator() -> None:
    config = NotifyConfig.model_validate(demo_notify_config())
    assert config.tenant(DEMO_TENANT).operator == "ops-desk"
