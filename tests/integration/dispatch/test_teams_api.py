"""Teams (班组) as managed records: the API, what must name an existing team, and the
migration that made teams out of the team names already in use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import alembic_config
from shared.auth import Role
from shared.database import create_engine
from tests.integration.dispatch.api_support import Api, auth
from tests.integration.dispatch.assignment_support import MANAGER, form_team, hire

MAINTENANCE = {
    "name": "维修班",
    "trades": ["plumbing", "electrical"],
    "projects": ["sunny"],
    "supervisors": ["sup-chen"],
}


async def test_a_manager_keeps_teams_and_readers_see_those_of_their_projects(api: Api) -> None:
    put = await api.client.put("/v1/teams/maintenance", json=MAINTENANCE, headers=MANAGER)
    await form_team(api, "service-desk", trades=["customer_service"], projects=["river"])

    one = await api.client.get("/v1/teams/maintenance", headers=auth(Role.DISPATCHER))
    of_sunny = await api.client.get("/v1/teams?project=sunny", headers=MANAGER)
    river_only = auth(Role.SUPERVISOR, projects=["river"])
    seen_from_river = await api.client.get("/v1/teams", headers=river_only)
    hidden = await api.client.get("/v1/teams/maintenance", headers=river_only)

    assert put.status_code == 200, put.text
    assert put.json() == {
        "id": "maintenance",
        "name": "维修班",
        "trades": ["electrical", "plumbing"],
        "projects": ["sunny"],
        "supervisors": ["sup-chen"],
    }
    assert one.json() == put.json()
    assert [team["id"] for team in of_sunny.json()["items"]] == ["maintenance"]
    assert [team["id"] for team in seen_from_river.json()["items"]] == ["service-desk"]
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "unknown_team"


async def test_only_managers_of_the_teams_projects_change_it(api: Api) -> None:
    by_technician = await api.client.put(
        "/v1/teams/maintenance", json=MAINTENANCE, headers=auth(Role.TECHNICIAN)
    )
    elsewhere = await api.client.put(
        "/v1/teams/maintenance", json=MAINTENANCE, headers=auth(Role.PROJECT_MANAGER, ["river"])
    )
    bad = await api.client.put(
        "/v1/teams/maintenance", json={**MAINTENANCE, "projects": []}, headers=MANAGER
    )

    assert by_technician.status_code == 403
    assert by_technician.json()["code"] == "role_not_allowed"
    assert elsewhere.status_code == 404
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    listed = await api.client.get("/v1/teams", headers=MANAGER)
    assert listed.json()["items"] == []


async def test_staff_and_roster_shifts_must_name_an_existing_team(api: Api) -> None:
    person = {"name": "王师傅", "team": "plumbers", "trades": ["plumbing"], "projects": ["sunny"]}
    shift = {"name": "day", "team": "plumbers", "members": ["wang"]}

    staff = await api.client.put("/v1/staff/wang", json=person, headers=MANAGER)
    roster = await api.client.put(
        "/v1/projects/sunny/roster", json={"shifts": [shift]}, headers=MANAGER
    )

    for refused in (staff, roster):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "unknown_team"
        assert "'plumbers'" in refused.json()["detail"]
    assert (await api.client.get("/v1/staff/wang", headers=MANAGER)).status_code == 404
    kept = await api.client.get("/v1/projects/sunny/roster", headers=MANAGER)
    assert kept.json()["shifts"] == []


async def test_a_team_still_named_cannot_be_deleted_and_an_unused_one_can(api: Api) -> None:
    await hire(api, "wang", team="plumbers")
    await form_team(api, "night-crew")
    shift = {"name": "night", "team": "night-crew", "members": ["wang"]}
    await api.client.put("/v1/projects/sunny/roster", json={"shifts": [shift]}, headers=MANAGER)

    named_by_staff = await api.client.delete("/v1/teams/plumbers", headers=MANAGER)
    named_by_roster = await api.client.delete("/v1/teams/night-crew", headers=MANAGER)
    await api.client.put("/v1/projects/sunny/roster", json={"shifts": []}, headers=MANAGER)
    freed = await api.client.delete("/v1/teams/night-crew", headers=MANAGER)
    again = await api.client.delete("/v1/teams/night-crew", headers=MANAGER)
    by_dispatcher = await api.client.delete("/v1/teams/plumbers", headers=auth(Role.DISPATCHER))

    assert named_by_staff.status_code == 409
    assert named_by_staff.json()["code"] == "team_in_use"
    assert "staff wang" in named_by_staff.json()["detail"]
    assert named_by_roster.status_code == 409
    assert "roster of sunny" in named_by_roster.json()["detail"]
    assert freed.status_code == 204
    assert again.status_code == 404
    assert by_dispatcher.status_code == 403
    still = await api.client.get("/v1/teams/plumbers", headers=MANAGER)
    assert still.status_code == 200


NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_the_migration_makes_teams_of_the_names_staff_and_rosters_used(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_migrate, "0005")
            await conn.execute(insert(t.staff), [_staff_row(*row) for row in _OLD_STAFF])
            roster = {"shifts": [{"name": "n", "team": "night", "members": ["wang"]}]}
            await conn.execute(
                insert(t.rosters),
                [{"tenant": "acme", "project": "river", "roster": roster, "updated_at": NOW}],
            )
            await conn.run_sync(_migrate, "head")
            await conn.commit()
            c = t.teams.c
            found = (
                await conn.execute(select(c.tenant, c.team_id, c.record).order_by(c.tenant))
            ).all()
    finally:
        await engine.dispose()

    assert sorted((tenant, team, record) for tenant, team, record in found) == [
        (
            "acme",
            "maintenance",
            {
                "name": "maintenance",
                "trades": ["electrical", "plumbing"],
                "projects": ["river", "sunny"],
                "supervisors": ["sup-chen"],
            },
        ),
        (
            "acme",
            "night",
            {
                "name": "night",
                "trades": [],
                "projects": ["river"],
                "supervisors": [],
            },
        ),
        (
            "other",
            "maintenance",
            {
                "name": "maintenance",
                "trades": ["plumbing"],
                "projects": ["hill"],
                "supervisors": [],
            },
        ),
    ]


_OLD_STAFF = [
    ("acme", "wang", "technician", ["plumbing"], ["sunny"]),
    ("acme", "li", "technician", ["electrical"], ["river"]),
    ("acme", "sup-chen", "supervisor", [], ["sunny"]),
    ("other", "zhao", "technician", ["plumbing"], ["hill"]),
]


def _staff_row(
    tenant: str, staff_id: str, role: str, trades: list[str], projects: list[str]
) -> dict[str, Any]:
    record = {
        "name": staff_id,
        "role": role,
        "team": "maintenance",
        "trades": trades,
        "projects": projects,
        "buildings": [],
        "max_open_orders": None,
    }
    return {
        "tenant": tenant,
        "staff_id": staff_id,
        "record": record,
        "availability": "off",
        "updated_at": NOW,
    }


def _migrate(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


RIVER_MANAGER = auth(Role.PROJECT_MANAGER, ["river"])


async def test_a_put_of_a_team_id_of_another_project_answers_as_for_a_new_id(api: Api) -> None:
    await api.client.put("/v1/teams/maintenance", json=MAINTENANCE, headers=MANAGER)
    theirs = {"name": "河畔维修", "trades": ["plumbing"], "projects": ["river"]}

    existing = await api.client.put("/v1/teams/maintenance", json=theirs, headers=RIVER_MANAGER)
    new = await api.client.put("/v1/teams/repairs", json=theirs, headers=RIVER_MANAGER)
    seen_from_sunny = await api.client.get(
        "/v1/teams/maintenance", headers=auth(Role.SUPERVISOR, ["sunny"])
    )

    assert (existing.status_code, new.status_code) == (200, 200), existing.text
    assert {**existing.json(), "id": None} == {**new.json(), "id": None}
    assert existing.json()["projects"] == ["river"] and existing.json()["supervisors"] == []
    # Sunny keeps its part: the project and its supervisor stay.
    assert seen_from_sunny.json()["projects"] == ["sunny"]
    assert seen_from_sunny.json()["supervisors"] == ["sup-chen"]


async def test_a_put_of_a_staff_id_of_another_project_answers_as_for_a_new_id(api: Api) -> None:
    await form_team(api, "maintenance")
    await hire(api, "wang")
    person = {
        "name": "王师傅",
        "team": "maintenance",
        "trades": ["plumbing"],
        "projects": ["river"],
    }

    existing = await api.client.put("/v1/staff/wang", json=person, headers=RIVER_MANAGER)
    new = await api.client.put("/v1/staff/li", json=person, headers=RIVER_MANAGER)
    seen_from_sunny = await api.client.get(
        "/v1/staff/wang", headers=auth(Role.DISPATCHER, ["sunny"])
    )

    assert (existing.status_code, new.status_code) == (200, 200), existing.text
    assert {**existing.json(), "id": None} == {**new.json(), "id": None}
    assert existing.json()["projects"] == ["river"]
    assert seen_from_sunny.json()["projects"] == ["sunny"]


SUNNY_MANAGER = auth(Role.PROJECT_MANAGER, ["sunny"])


def _problem_without(response: Any, team_id: str) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["detail"].replace(repr(team_id), "<team>")


async def test_a_team_of_another_project_is_refused_as_one_that_does_not_exist(api: Api) -> None:
    sunnys = {"name": "阳光维修", "trades": ["plumbing"], "projects": ["sunny"]}
    assert (await api.client.put("/v1/teams/fixers", json=sunnys, headers=SUNNY_MANAGER)).is_success
    person = {"name": "李师傅", "trades": ["plumbing"], "projects": ["river"]}

    def staffed(team: str) -> Any:
        body = {**person, "team": team}
        return api.client.put("/v1/staff/li", json=body, headers=RIVER_MANAGER)

    def rostered(team: str) -> Any:
        shifts = {"shifts": [{"name": "day", "team": team, "members": ["li"]}]}
        return api.client.put("/v1/projects/river/roster", json=shifts, headers=RIVER_MANAGER)

    for write in (staffed, rostered):
        hidden, missing = await write("fixers"), await write("nobody")
        assert hidden.status_code == 422, hidden.text
        assert _problem_without(hidden, "fixers") == _problem_without(missing, "nobody")
        assert hidden.json()["code"] == "unknown_team"
    hidden_delete = await api.client.delete("/v1/teams/fixers", headers=RIVER_MANAGER)
    missing_delete = await api.client.delete("/v1/teams/nobody", headers=RIVER_MANAGER)
    assert hidden_delete.status_code == 404
    assert _problem_without(hidden_delete, "fixers") == _problem_without(missing_delete, "nobody")
    assert hidden_delete.json()["code"] == "unknown_team"

    # Nothing was written, and sunny's team is still there.
    assert (await api.client.get("/v1/staff/li", headers=RIVER_MANAGER)).status_code == 404
    roster = await api.client.get("/v1/projects/river/roster", headers=RIVER_MANAGER)
    assert roster.json()["shifts"] == []
    kept = await api.client.get("/v1/teams/fixers", headers=SUNNY_MANAGER)
    assert kept.status_code == 200


async def test_a_record_keeps_the_team_it_already_names(api: Api) -> None:
    # A person of both projects, whose team works only in sunny: river's manager reads the
    # entry with its team and may write it back unchanged.
    sunnys = {"name": "阳光维修", "trades": ["plumbing"], "projects": ["sunny"]}
    await api.client.put("/v1/teams/fixers", json=sunnys, headers=SUNNY_MANAGER)
    both = {"name": "李师傅", "team": "fixers", "trades": ["plumbing"], "projects": ["sunny"]}
    assert (await api.client.put("/v1/staff/li", json=both, headers=MANAGER)).is_success
    await api.client.put(
        "/v1/staff/li", json={**both, "projects": ["sunny", "river"]}, headers=MANAGER
    )
    seen = (await api.client.get("/v1/staff/li", headers=RIVER_MANAGER)).json()

    written = {k: v for k, v in seen.items() if k not in ("id", "availability")}
    again = await api.client.put("/v1/staff/li", json=written, headers=RIVER_MANAGER)

    assert again.status_code == 200, again.text
    assert again.json()["team"] == "fixers"


async def test_deleting_a_shared_team_takes_it_out_of_the_callers_projects_only(
    api: Api,
) -> None:
    # A team of both projects, held by a river technician: sunny's manager removes it
    # from sunny. The answer names neither river nor its technician, and river keeps it.
    both = {"name": "联合维修", "trades": ["plumbing"], "projects": ["sunny", "river"]}
    assert (await api.client.put("/v1/teams/shared", json=both, headers=MANAGER)).is_success
    river_tech = {"name": "赵师傅", "team": "shared", "trades": ["plumbing"], "projects": ["river"]}
    staffed = await api.client.put("/v1/staff/zhao", json=river_tech, headers=RIVER_MANAGER)
    assert staffed.is_success, staffed.text
    alone = {"name": "阳光维修", "trades": ["plumbing"], "projects": ["sunny"]}
    assert (await api.client.put("/v1/teams/own", json=alone, headers=SUNNY_MANAGER)).is_success

    shared_delete = await api.client.delete("/v1/teams/shared", headers=SUNNY_MANAGER)
    own_delete = await api.client.delete("/v1/teams/own", headers=SUNNY_MANAGER)

    assert (shared_delete.status_code, own_delete.status_code) == (204, 204)
    assert shared_delete.text == own_delete.text == ""
    for gone in ("shared", "own"):
        assert (await api.client.get(f"/v1/teams/{gone}", headers=SUNNY_MANAGER)).status_code == 404
    kept = await api.client.get("/v1/teams/shared", headers=RIVER_MANAGER)
    assert kept.json()["projects"] == ["river"]
    # River's manager now removes it from river, where the technician still names it.
    refused = await api.client.delete("/v1/teams/shared", headers=RIVER_MANAGER)
    assert (refused.status_code, refused.json()["code"]) == (409, "team_in_use")
    assert "zhao" in refused.json()["detail"]
