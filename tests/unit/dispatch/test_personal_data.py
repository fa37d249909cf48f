"""Who sees a reporter in clear, view by view (the decision table of docs/privacy.md)."""

from __future__ import annotations

from typing import Any

import pytest

from services.dispatch.domain.workorder import (
    OrderFacts,
    Sight,
    View,
    masked,
    shown_fields,
    sight,
)
from shared.auth import PERSONAL_DATA_SCOPE, Role

ORDER = OrderFacts(resident_id="res-1", owner="cs-1", assignee="tech-1")
CLEAR, OWN, MASKED = Sight.CLEAR, Sight.OWN, Sight.MASKED

TABLE: dict[tuple[Role, str], tuple[Sight, Sight]] = {
    # (role, subject): (one order, a list)
    (Role.RESIDENT, "res-1"): (OWN, OWN),
    (Role.RESIDENT, "res-2"): (MASKED, MASKED),
    (Role.CUSTOMER_SERVICE, "cs-1"): (CLEAR, CLEAR),
    (Role.CUSTOMER_SERVICE, "cs-2"): (CLEAR, MASKED),
    (Role.DISPATCHER, "dispatcher-1"): (CLEAR, MASKED),
    (Role.TECHNICIAN, "tech-1"): (CLEAR, CLEAR),
    (Role.TECHNICIAN, "tech-2"): (MASKED, MASKED),
    (Role.SUPERVISOR, "supervisor-1"): (CLEAR, CLEAR),
    (Role.PROJECT_MANAGER, "pm-1"): (MASKED, MASKED),
    (Role.HQ_QUALITY, "hq-1"): (MASKED, MASKED),
    (Role.INTEGRATOR, "erp"): (MASKED, MASKED),
    (Role.PRIVACY_OFFICER, "dpo-1"): (MASKED, MASKED),
    # notify's identity reads contacts through their own route only, never an order.
    (Role.NOTIFIER, "notify"): (MASKED, MASKED),
}


def test_the_table_names_every_role() -> None:
    assert {role for role, _ in TABLE} == set(Role)


@pytest.mark.parametrize(("role", "subject"), list(TABLE), ids=str)
def test_each_role_sees_what_its_work_needs(role: Role, subject: str) -> None:
    one, listed = TABLE[(role, subject)]

    assert sight(role, subject, View.ORDER, ORDER) is one
    assert sight(role, subject, View.LISTING, ORDER) is listed


def test_an_integrator_granted_the_personal_data_scope_sees_one_order_in_clear() -> None:
    granted = frozenset({PERSONAL_DATA_SCOPE})

    assert sight(Role.INTEGRATOR, "erp", View.ORDER, ORDER, granted) is CLEAR
    # The grant is for an integration's calls about one order, never a bulk export.
    assert sight(Role.INTEGRATOR, "erp", View.LISTING, ORDER, granted) is MASKED


def test_the_scope_grants_nothing_to_another_role() -> None:
    granted = frozenset({PERSONAL_DATA_SCOPE})

    assert sight(Role.PROJECT_MANAGER, "pm-1", View.ORDER, ORDER, granted) is MASKED
    assert sight(Role.HQ_QUALITY, "hq-1", View.ORDER, ORDER, granted) is MASKED


def test_masking_hides_name_phone_unit_and_detail_and_keeps_the_rest() -> None:
    body: dict[str, Any] = {
        "id": "wo-1",
        "reporter": {"name": "张三", "phone": "13800000000", "resident_id": "res-1"},
        "location": {"building": "b1", "unit": "1-101", "detail": "阳光花园1号楼"},
    }

    shown = masked(body)

    assert shown["reporter"] == {"name": "张*", "phone": "138****0000", "resident_id": "res-1"}
    assert shown["location"] == {"building": "b1", "unit": "*-***", "detail": "阳光花园*号楼"}
    assert body["reporter"]["name"] == "张三"  # the original is left as it was
    assert shown_fields(body) == (
        "reporter.name",
        "reporter.phone",
        "location.unit",
        "location.detail",
    )


def test_a_reporter_without_phone_or_unit_shows_only_their_name() -> None:
    body: dict[str, Any] = {
        "reporter": {"name": "李四", "phone": None},
        "location": {"building": "b1"},
    }

    assert masked(body)["reporter"]["phone"] is None
    assert shown_fields(body) == ("reporter.name",)
