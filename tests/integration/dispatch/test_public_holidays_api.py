"""`/v1/public-holidays` over HTTP, and a clock running into a year nobody has published."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.dispatch.adapters.public_holidays import OPERATOR_SCOPE, SqlPublicHolidays
from services.dispatch.domain.sla import (
    PackageYear,
    PublicHolidaySchedule,
    china_public_calendar,
    default_policy,
)
from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api, auth

PROBLEM = "application/problem+json"
NEW_YEARS_EVE_2PM = datetime(2026, 12, 31, 6, 0, tzinfo=UTC)
"""Thursday 31 December 2026, 14:00 in Shanghai: four office hours are left in the year."""

SCHEDULE_2027 = {
    "year": 2027,
    "days_off": ["2027-01-01", "2027-02-06", "2027-02-07", "2027-02-08"],
    "make_up_days": ["2027-01-02"],
    "source": "国办发明电〔2026〕1号",
}
"""A 2027 schedule (invented for the tests) with Saturday 2 January worked."""

HQ = Role.HQ_QUALITY


def package_without_2027(year: int) -> PackageYear:
    """The `holidays` package before the 2027 notice, whatever release is installed."""
    days_off, make_up = china_public_calendar(year)
    return days_off, frozenset() if year == 2027 else make_up


@pytest.fixture(autouse=True)
def _2027_unannounced(api: Api) -> None:
    assert api.dispatch.public_holidays is not None
    api.dispatch.public_holidays.package = package_without_2027


async def put(api: Api, year: int, body: dict[str, Any], role: Role = HQ, **kw: Any) -> Any:
    headers = auth(role, kw.pop("projects", None))
    return await api.client.put(f"/v1/public-holidays/{year}", json=body, headers=headers)


async def get(api: Api, year: int) -> dict[str, Any]:
    response = await api.client.get(f"/v1/public-holidays/{year}", headers=auth(Role.DISPATCHER))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# -- loading, reading, withdrawing ---------------------------------------------------------


async def test_a_loaded_schedule_is_followed_and_shown_with_its_origin(api: Api) -> None:
    assert (await get(api, 2027))["origin"] == "unknown"
    assert (await get(api, 2027))["known"] is False
    assert (await get(api, 2026))["origin"] == "package"

    response = await put(api, 2027, SCHEDULE_2027)

    assert response.status_code == 201, response.text
    shown = response.json()
    assert shown["origin"] == "tenant" and shown["known"] is True
    assert shown["make_up_days"] == ["2027-01-02"]
    assert shown["source"] == "国办发明电〔2026〕1号"
    assert shown["loaded_by"] == "hq_quality-1"
    assert datetime.fromisoformat(shown["loaded_at"]) == NOW
    assert await get(api, 2027) == shown


async def test_loading_the_same_schedule_again_changes_nothing(api: Api) -> None:
    first = await put(api, 2027, SCHEDULE_2027)
    api.clock.advance(NEW_YEARS_EVE_2PM - NOW)

    again = await put(api, 2027, SCHEDULE_2027)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_the_tenants_schedule_wins_and_withdrawing_it_falls_back_to_the_operators(
    api: Api,
) -> None:
    schedules = api.dispatch.public_holidays
    assert schedules is not None
    operator = PublicHolidaySchedule(2027, frozenset({date(2027, 1, 1)}), source="operator")
    await schedules.load(OPERATOR_SCOPE, operator, "operator-cli")
    assert (await get(api, 2027))["origin"] == "operator"
    assert (await get(api, 2027))["loaded_by"] == "operator-cli"

    await put(api, 2027, SCHEDULE_2027)
    assert (await get(api, 2027))["origin"] == "tenant"

    withdrawn = await api.client.delete("/v1/public-holidays/2027", headers=auth(HQ))
    assert withdrawn.status_code == 204
    assert (await get(api, 2027))["origin"] == "operator"
    again = await api.client.delete("/v1/public-holidays/2027", headers=auth(HQ))
    assert again.status_code == 404
    assert again.json()["code"] == "public_holidays_not_loaded"


async def test_a_schedule_loaded_by_another_process_is_followed_within_30_seconds(
    api: Api,
) -> None:
    ticks = [0.0]
    engine = api.dispatch.engine
    mine = SqlPublicHolidays(
        engine, clock=api.clock.now, monotonic=lambda: ticks[0], package=package_without_2027
    )
    cli = SqlPublicHolidays(engine, clock=api.clock.now)  # `wo sla holidays load`
    assert not (await mine.for_tenant("acme")).known(2027)

    await cli.load(OPERATOR_SCOPE, PublicHolidaySchedule(2027, frozenset({date(2027, 1, 1)})), "op")

    ticks[0] = 29.9
    assert not (await mine.for_tenant("acme")).known(2027)
    ticks[0] = 30.0
    assert (await mine.for_tenant("acme")).year(2027).origin == "operator"


async def test_the_list_shows_loaded_years_and_this_year_and_next(api: Api) -> None:
    await put(
        api, 2030, {**SCHEDULE_2027, "year": 2030, "days_off": ["2030-01-01"], "make_up_days": []}
    )

    response = await api.client.get("/v1/public-holidays", headers=auth(Role.SUPERVISOR))

    items = response.json()["items"]
    assert [(i["year"], i["origin"]) for i in items] == [
        (2026, "package"),
        (2027, "unknown"),
        (2030, "tenant"),
    ]


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"make_up_days": ["2027-01-04"]}, "make_up_day_not_weekend"),
        ({"days_off": ["2026-12-31"]}, "holiday_outside_year"),
        ({"days_off": []}, "no_days_off"),
        ({"days_off": ["2027-01-02"]}, "day_off_and_make_up_day"),
        ({"year": 2028}, "year_mismatch"),
        ({"days_off": ["2027-13-01"]}, "validation_failed"),
        ({"colour": "red"}, "validation_failed"),
    ],
)
async def test_an_invalid_schedule_is_a_422_problem_with_its_code(
    api: Api, change: dict[str, Any], code: str
) -> None:
    response = await put(api, 2027, {**SCHEDULE_2027, **change})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code
    assert (await get(api, 2027))["origin"] == "unknown"


@pytest.mark.parametrize(
    ("role", "projects", "code"),
    [
        (Role.DISPATCHER, None, "role_not_allowed"),
        (Role.SUPERVISOR, None, "role_not_allowed"),
        (Role.PROJECT_MANAGER, ["sunny"], "all_projects_required"),
    ],
)
async def test_only_a_policy_writer_for_every_project_loads_a_schedule(
    api: Api, role: Role, projects: list[str] | None, code: str
) -> None:
    response = await put(api, 2027, SCHEDULE_2027, role, projects=projects)
    withdrawal = await api.client.delete("/v1/public-holidays/2027", headers=auth(role, projects))

    assert (response.status_code, response.json()["code"]) == (403, code)
    assert (withdrawal.status_code, withdrawal.json()["code"]) == (403, code)


async def test_residents_may_not_read_the_schedules(api: Api) -> None:
    response = await api.client.get("/v1/public-holidays/2027", headers=auth(Role.RESIDENT))

    assert response.status_code == 403


async def test_the_routes_declare_their_response_models(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    item = spec["paths"]["/v1/public-holidays/{year}"]
    schema = item["put"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/HolidayYearView"}
    assert (
        "ScheduleDocument"
        in item["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )


# -- end to end: the warning, the metric, and a loaded make-up day -------------------------


def unconfirmed_count(metrics: str, year: int) -> float:
    found = re.search(
        rf'^dispatch_sla_clock_unconfirmed_calendar_total{{year="{year}"}} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    return float(found[1]) if found else 0.0


async def feedback_events(api: Api, work_order_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/v1/work-orders/{work_order_id}/events", headers=auth(Role.SUPERVISOR)
    )
    return [e for e in response.json()["items"] if e["data"].get("clock") == "feedback"]


async def test_a_complaint_on_new_years_eve_warns_until_2027_is_loaded(api: Api) -> None:
    body = default_policy(complaint_feedback_on_working_days=True).model_dump(mode="json")
    del body["version"]
    published = await api.client.post("/v1/sla/policies", json=body, headers=auth(HQ))
    assert published.status_code == 201, published.text
    api.clock.advance(NEW_YEARS_EVE_2PM - NOW)
    before = unconfirmed_count((await api.client.get("/metrics")).text, 2027)

    first = await api.report(kind="complaint", category="noise")

    events = await feedback_events(api, first["id"])
    assert [e["type"] for e in events] == [
        "workorder.sla_clock_started.v1",
        "workorder.sla_calendar_unconfirmed.v1",
    ]
    warning = events[1]["data"]
    assert warning["years"] == [2027]
    # Four office hours on the 31st, New Year's Day off, the weekend, then Monday 14:00.
    assert datetime.fromisoformat(warning["due_at"]) == datetime(2027, 1, 4, 6, 0, tzinfo=UTC)
    after = unconfirmed_count((await api.client.get("/metrics")).text, 2027)
    assert after == before + 1

    loaded = await put(api, 2027, SCHEDULE_2027)
    assert loaded.status_code == 201
    second = await api.report(kind="complaint", category="noise")

    events = await feedback_events(api, second["id"])
    assert [e["type"] for e in events] == ["workorder.sla_clock_started.v1"]
    # The make-up Saturday is worked: due on 2 January at 14:00.
    due = datetime.fromisoformat(events[0]["data"]["due_at"])
    assert due == datetime(2027, 1, 2, 6, 0, tzinfo=UTC)
    assert unconfirmed_count((await api.client.get("/metrics")).text, 2027) == after
    # The first complaint's clock keeps the due time it was given.
    kept = await feedback_events(api, first["id"])
    assert len(kept) == 2
    assert datetime.fromisoformat(kept[0]["data"]["due_at"]) == datetime(
        2027, 1, 4, 6, 0, tzinfo=UTC
    )
