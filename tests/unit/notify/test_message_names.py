"""Messages name things as people do: the order's number, the project's name, the category's
label, the building's name and the staff member's name, never an id; events recorded before
dispatch carried those names still render, with short forms."""

from __future__ import annotations

import re
import uuid

import pytest

from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.config import DEFAULT_ROUTES, TenantConfig
from services.notify.domain.routing import WorkOrderFacts, fold
from services.notify.service_layer.handler import message_context
from shared.events.base import EventData
from shared.events.workorder import Assigned, AssignmentReturned, ReturnKind
from tests.unit.notify.builders import TENANT, envelope, reported

SHANGHAI = "Asia/Shanghai"
WORK_ORDER_ID = str(uuid.UUID("6f1c2a4e-9b7d-4c3e-8a21-5d0f3e9b7c11"))
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NO_CONTACTS = TenantConfig()


def named_report() -> EventData:
    """A report as dispatch records it now: with its number and the names people read."""
    data: EventData = reported().model_copy(
        update={
            "location": reported().location.model_copy(update={"building": "b2", "unit": "2-202"}),
            "number": "SG-20261201-0042",
            "project_name": "阳光花园",
            "building_name": "2号楼",
            "owner_name": "李客服",
        }
    )
    return data


def render(events: list[EventData], template: str, language: str) -> str:
    """Fold `events` as notify does and render `template` for the last one."""
    facts = WorkOrderFacts()
    env = None
    for sequence, data in enumerate(events, start=1):
        env = envelope(data, sequence, work_order_id=WORK_ORDER_ID)
        facts = fold(facts, env.type_name, env.data)
    assert env is not None
    context = message_context(env, facts, NO_CONTACTS, "张三")
    result = TemplateRenderer().render(TENANT, template, language, SHANGHAI, context)
    return f"{result.subject}\n{result.text}"


@pytest.mark.parametrize(
    ("language", "fragments"),
    [
        ("zh-CN", ["SG-20261201-0042", "阳光花园", "水管维修", "2号楼 2-202", "李客服"]),
        ("en", ["SG-20261201-0042", "阳光花园", "plumbing", "2号楼 2-202", "李客服"]),
    ],
)
def test_the_residents_receipt_names_the_project_category_place_and_owner(
    language: str, fragments: list[str]
) -> None:
    message = render([named_report()], "reported_receipt", language)

    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not UUID_TEXT.search(message)
    assert "cs-li" not in message


def test_the_zh_cn_receipt_reads_in_chinese_only() -> None:
    message = render([named_report()], "reported_receipt", "zh-CN")

    assert "plumbing" not in message
    assert "b2 " not in message


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_technician_and_the_owner_read_the_staff_members_name(language: str) -> None:
    assigned = Assigned(assignee="tech-wang", assignee_name="王师傅")
    events = [named_report(), assigned]

    owner_update = render(events, "owner_update", language)
    to_technician = render(events, "assigned", language)

    assert "王师傅" in owner_update and "tech-wang" not in owner_update
    assert "SG-20261201-0042" in to_technician
    assert not UUID_TEXT.search(owner_update + to_technician)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_owner_reads_who_handed_the_work_back(language: str) -> None:
    assigned = Assigned(assignee="tech-wang", assignee_name="王师傅")
    returned = AssignmentReturned(
        technician="tech-wang", kind=ReturnKind.HAND_BACK, reason="需要电工"
    )

    message = render([named_report(), assigned, returned], "owner_update", language)

    assert "王师傅" in message and "tech-wang" not in message


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_old_report_without_the_new_fields_still_renders_with_short_forms(
    language: str,
) -> None:
    old = reported().model_dump(mode="json")
    for field in ("number", "project_name", "building_name", "owner_name"):
        old.pop(field, None)
    env = envelope(reported(), 1, work_order_id=WORK_ORDER_ID).model_copy(update={"data": old})
    facts = fold(WorkOrderFacts(), env.type_name, env.data)
    rendered = {
        target.template: TemplateRenderer().render(
            TENANT,
            target.template,
            language,
            SHANGHAI,
            message_context(env, facts, NO_CONTACTS, "张三"),
        )
        for target in DEFAULT_ROUTES["workorder.reported"]
    }

    receipt = rendered["reported_receipt"]
    # The id's first characters for the number, the project id, the building as reported.
    assert WORK_ORDER_ID[:8] in receipt.text
    assert WORK_ORDER_ID not in receipt.text
    assert "sunny-garden" in receipt.text
    assert "b1 1-101" in receipt.text
    assert "cs-li" in receipt.text  # nobody named the owner: the id is all there is


def test_a_category_in_the_tenants_own_words_is_shown_as_written() -> None:
    own_words = named_report().model_copy(update={"category": "楼道灯不亮"})

    message = render([own_words], "reported_receipt", "zh-CN")

    assert "楼道灯不亮" in message
