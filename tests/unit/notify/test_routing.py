"""Routing: each default route reaches the right people on their channels."""

from __future__ import annotations

from services.notify.domain.config import (
    Contact,
    Endpoint,
    ProjectConfig,
    RouteTarget,
    TenantConfig,
)
from services.notify.domain.model import Audience, ChannelName, language_of
from services.notify.domain.routing import WorkOrderFacts, fold, operator_fallback, plan
from shared.events.workorder import Urgency
from tests.unit.notify.builders import PROJECT, reported

CONFIG = TenantConfig(
    contacts={
        "cs-li": Contact(
            name="李客服", channels=(ChannelName.INBOX, ChannelName.EMAIL), email="li@example.test"
        ),
        "tech-wang": Contact(name="王师傅", language="zh-CN"),
        "sup-chen": Contact(
            name="Chen",
            language="en",
            channels=(ChannelName.WEBHOOK,),
            webhook=Endpoint(url="http://127.0.0.1:9/hook", secret="whsec_c2VjcmV0"),
        ),
    },
    roles={"supervisor": ("sup-chen",)},
)


def facts() -> WorkOrderFacts:
    return fold(WorkOrderFacts(), "workorder.reported", reported().model_dump(mode="json"))


def keys(messages: list) -> set[tuple[str, str, str]]:  # type: ignore[type-arg]
    return {(m.recipient.key, str(m.channel), m.template) for m in messages}


def test_a_report_reaches_the_resident_on_inbox_and_sms_and_the_owner_on_their_channels() -> None:
    messages, unreached = plan("workorder.reported", {}, facts(), CONFIG, PROJECT)
    assert keys(messages) == {
        ("resident:res-zhang", "inbox", "reported_receipt"),
        ("resident:res-zhang", "sms", "reported_receipt"),
        ("person:cs-li", "inbox", "reported_owner"),
        ("person:cs-li", "email", "reported_owner"),
    }
    assert unreached == []
    resident = next(m for m in messages if m.recipient.key.startswith("resident"))
    assert resident.recipient.audience is Audience.RESIDENT


def test_a_resident_without_a_login_is_reached_by_phone_only() -> None:
    no_login = fold(
        WorkOrderFacts(), "workorder.reported", reported(resident_id=None).model_dump(mode="json")
    )
    messages, _ = plan("workorder.completed", {}, no_login, CONFIG, PROJECT)
    residents = {k for k in keys(messages) if k[0].startswith("resident")}
    assert residents == {("resident:phone:138****0000", "sms", "completed")}


def test_a_reassignment_goes_to_the_new_technician() -> None:
    current = fold(facts(), "workorder.assigned", {"assignee": "tech-wang"})
    data = {"from_assignee": "tech-wang", "to_assignee": "tech-zhao", "reason": "x"}
    messages, _ = plan("workorder.reassigned", data, current, CONFIG, PROJECT)
    assert {k for k in keys(messages) if k[2] == "assigned"} == {
        ("person:tech-zhao", "inbox", "assigned")
    }


def test_an_escalation_to_a_role_goes_to_the_configured_contacts_in_their_language() -> None:
    messages, _ = plan(
        "workorder.sla_escalated", {"to_role": "supervisor"}, facts(), CONFIG, PROJECT
    )
    assert keys(messages) == {("person:sup-chen", "webhook", "sla_escalated")}
    assert messages[0].recipient.language == "en"
    assert messages[0].alert


def test_an_escalation_goes_to_the_people_dispatch_found_on_duty_before_the_contacts() -> None:
    data = {"to_role": "supervisor", "to_people": ["sup-wu", "sup-chen"]}
    messages, _ = plan("workorder.sla_escalated", data, facts(), CONFIG, PROJECT)
    # sup-wu has no contact entry: still told, in the inbox.
    assert keys(messages) == {
        ("person:sup-wu", "inbox", "sla_escalated"),
        ("person:sup-chen", "webhook", "sla_escalated"),
    }
    named = {"to_role": "supervisor", "to_person": "tech-wang", "to_people": ["sup-wu"]}
    messages, _ = plan("workorder.sla_escalated", named, facts(), CONFIG, PROJECT)
    assert keys(messages) == {("person:tech-wang", "inbox", "sla_escalated")}


def test_a_project_manager_step_reaches_the_managers_named_else_the_contacts() -> None:
    config = CONFIG.model_copy(update={"roles": {"project_manager": ("cs-li",)}})
    named = {
        "to_role": "project_manager",
        "to_people": ["pm-zhou", "sup-chen"],
        "to_people_source": "project_managers",
    }
    messages, _ = plan("workorder.sla_escalated", named, facts(), config, PROJECT)
    # The directory's managers, reached through their contacts (the inbox without one).
    assert keys(messages) == {
        ("person:pm-zhou", "inbox", "sla_escalated"),
        ("person:sup-chen", "webhook", "sla_escalated"),
    }

    nobody = {"to_role": "project_manager", "to_people": [], "to_people_source": "none"}
    messages, _ = plan("workorder.sla_escalated", nobody, facts(), config, PROJECT)
    assert keys(messages) == {
        ("person:cs-li", "inbox", "sla_escalated"),
        ("person:cs-li", "email", "sla_escalated"),
    }


def test_a_pending_order_goes_to_whom_dispatch_escalated_it_else_the_supervisors() -> None:
    data = {"reason": "nobody_eligible", "attempts": 0, "escalation": "on_call"}
    on_call = {**data, "escalated_to": ["hotline"]}
    messages, _ = plan("workorder.dispatch_pending", on_call, facts(), CONFIG, PROJECT)
    assert keys(messages) == {("person:hotline", "inbox", "dispatch_pending")}
    assert all(m.alert for m in messages)

    nobody = {**data, "escalation": "none", "escalated_to": []}
    messages, _ = plan("workorder.dispatch_pending", nobody, facts(), CONFIG, PROJECT)
    assert keys(messages) == {("person:sup-chen", "webhook", "dispatch_pending")}


def test_an_escalation_to_a_named_person_goes_to_them() -> None:
    data = {"to_role": "supervisor", "to_person": "tech-wang"}
    messages, _ = plan("workorder.sla_escalated", data, facts(), CONFIG, PROJECT)
    assert keys(messages) == {("person:tech-wang", "inbox", "sla_escalated")}


def test_a_role_nobody_holds_is_reported_unreached() -> None:
    messages, unreached = plan(
        "workorder.sla_escalated", {"to_role": "project_manager"}, facts(), CONFIG, PROJECT
    )
    assert messages == []
    assert [u.target for u in unreached] == ["escalation_target"]


def test_a_project_can_override_a_route_and_its_roles() -> None:
    config = CONFIG.model_copy(
        update={
            "projects": {
                PROJECT: ProjectConfig(
                    routes={
                        "workorder.completed": (
                            RouteTarget(recipient="role:supervisor", template="completed"),
                        )
                    },
                )
            }
        }
    )
    messages, _ = plan("workorder.completed", {}, facts(), config, PROJECT)
    assert keys(messages) == {("person:sup-chen", "webhook", "completed")}
    others, _ = plan("workorder.completed", {}, facts(), config, "river-view")
    assert {m.recipient.key for m in others} == {"resident:res-zhang", "person:cs-li"}


def test_an_empty_route_silences_an_event_type() -> None:
    config = CONFIG.model_copy(update={"routes": {"workorder.reported": ()}})
    assert plan("workorder.reported", {}, facts(), config, PROJECT) == ([], [])


def test_urgency_follows_the_work_order() -> None:
    urgent = fold(facts(), "workorder.urgency_changed", {"to_urgency": Urgency.URGENT})
    messages, _ = plan("workorder.completed", {}, urgent, CONFIG, PROJECT)
    assert all(m.urgent for m in messages)


def test_dedup_key_is_event_recipient_and_channel() -> None:
    messages, _ = plan("workorder.completed", {}, facts(), CONFIG, PROJECT)
    assert {m.dedup_key("e1") for m in messages} == {
        "e1|resident:res-zhang|inbox",
        "e1|resident:res-zhang|sms",
        "e1|person:cs-li|inbox",
        "e1|person:cs-li|email",
    }


def test_language_preferences_fall_back_to_chinese() -> None:
    assert language_of("en-GB") == "en"
    assert language_of("zh") == "zh-CN"
    assert language_of("fr") == "zh-CN"
    assert language_of(None) == "zh-CN"


def test_roles_must_name_known_contacts() -> None:
    import pytest

    with pytest.raises(ValueError, match="missing from contacts"):
        TenantConfig(roles={"supervisor": ("nobody",)})


# 首按责任制: the owner hears every step that changes what they promised the resident.
OWNER_TOLD = [
    ("workorder.assigned", {"assignee": "tech-wang"}),
    ("workorder.reassigned", {"from_assignee": "tech-wang", "to_assignee": "tech-zhao"}),
    ("workorder.arrived", {"technician": "tech-wang"}),
    ("workorder.postponed", {"reason": "parts"}),
    ("workorder.completed", {"summary": "fixed"}),
    ("workorder.reopened", {"reason": "leaks again"}),
    ("workorder.sla_clock_breached", {"clock": "arrival"}),
]


def owner_templates(event_type: str, data: dict) -> set[str]:  # type: ignore[type-arg]
    current = fold(facts(), event_type, data)
    messages, _ = plan(event_type, data, current, CONFIG, PROJECT)
    return {m.template for m in messages if m.recipient.key == "person:cs-li"}


def test_owner_is_told_of_assignment() -> None:
    assert owner_templates(*OWNER_TOLD[0]) == {"owner_update"}
    assert owner_templates(*OWNER_TOLD[1]) == {"owner_update"}


def test_owner_is_told_of_arrival() -> None:
    assert owner_templates(*OWNER_TOLD[2]) == {"owner_update"}


def test_owner_is_told_of_postponement() -> None:
    assert owner_templates(*OWNER_TOLD[3]) == {"owner_update"}


def test_owner_is_told_of_completion() -> None:
    assert owner_templates(*OWNER_TOLD[4]) == {"owner_update"}


def test_owner_is_told_of_reopening() -> None:
    assert owner_templates(*OWNER_TOLD[5]) == {"reopened"}


def test_owner_is_told_of_breach() -> None:
    assert owner_templates(*OWNER_TOLD[6]) == {"sla_breached"}


def offer(*technicians: str) -> dict:  # type: ignore[type-arg]
    return {
        "mode": "grab" if len(technicians) > 1 else "auto",
        "offers": [{"technician": t, "rank": i + 1} for i, t in enumerate(technicians)],
    }


def test_offer_is_sent_to_technician() -> None:
    messages, unreached = plan("workorder.offered", offer("tech-wang"), facts(), CONFIG, PROJECT)
    assert keys(messages) == {("person:tech-wang", "inbox", "offered")}
    assert unreached == []
    assert not messages[0].alert


def test_grab_offer_is_sent_to_every_technician_offered() -> None:
    data = offer("tech-wang", "sup-chen")
    messages, _ = plan("workorder.offered", data, facts(), CONFIG, PROJECT)
    assert keys(messages) == {
        ("person:tech-wang", "inbox", "offered"),
        ("person:sup-chen", "webhook", "offered"),
    }


def test_unreachable_escalation_falls_back_to_the_operator() -> None:
    config = CONFIG.model_copy(update={"operator": "cs-li"})
    data = {"to_role": "project_manager"}
    messages, unreached = plan("workorder.sla_escalated", data, facts(), config, PROJECT)
    assert messages == []
    fallback = operator_fallback(unreached, config, urgent=False, alert=True)
    assert keys(fallback) == {
        ("person:cs-li", "inbox", "sla_escalated"),
        ("person:cs-li", "email", "sla_escalated"),
    }
    assert all(m.alert for m in fallback)


def test_a_resident_nobody_can_reach_is_not_passed_to_the_operator() -> None:
    config = CONFIG.model_copy(update={"operator": "cs-li"})
    nobody = fold(
        WorkOrderFacts(),
        "workorder.reported",
        reported(resident_id=None).model_dump(mode="json") | {"reporter": {"name": "王"}},
    )
    _, unreached = plan("workorder.completed", {}, nobody, config, PROJECT)
    assert [u.target for u in unreached] == ["resident"]
    assert operator_fallback(unreached, config, urgent=False, alert=False) == []


def test_progress_report_is_sent_to_the_resident() -> None:
    data = {"note": "防水层已重做"}
    messages, unreached = plan("workorder.progress_reported", data, facts(), CONFIG, PROJECT)
    assert keys(messages) == {
        ("resident:res-zhang", "inbox", "progress_reported"),
        ("resident:res-zhang", "sms", "progress_reported"),
    }
    assert unreached == []
