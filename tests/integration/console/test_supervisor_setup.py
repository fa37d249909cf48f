"""Supervisors and project managers edit staff, teams, rosters, dispatch rules and the SLA
policy in the console, through dispatch's own API; technicians may not."""

from __future__ import annotations

import re
from typing import Any

from shared.auth import Role
from tests.integration.console.support import ConsoleStack, notes
from tests.integration.console.test_console import CALL, orders_of
from tests.integration.dispatch.api_support import auth


async def dispatch_read(stack: ConsoleStack, path: str) -> Any:
    response = await stack.api.client.get(path, headers=auth(Role.HQ_QUALITY))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_supervisor_edits_a_roster_and_a_dispatch_rule_and_the_next_report_is_offered_by_the_new_rule(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as supervisor:
        await supervisor.sign_in("dev-supervisor")
        setup = await supervisor.page("/setup?project=sunny")
        assert setup.status_code == 200
        assert 'href="/setup/projects/sunny/roster"' in setup.text
        # Only 赵师傅 works the day shift: 王师傅, on duty by his own word, is off the roster.
        roster = "/setup/projects/sunny/roster"
        form = await supervisor.page(roster)
        assert 'name="shift0-member-tech-wang"' in form.text
        saved = await supervisor.submit(
            roster,
            roster,
            **{
                "shift0-name": "白班",
                "shift0-team": "maintenance",
                "shift0-member-tech-zhao": "on",
                "shift0-kind": "always",
                "shift0-cycle_days": "1",
                "shift0-day-0": "on",
                "oncall-tech-zhao": "on",
            },
        )
        assert saved.status_code == 303, saved.text
        assert notes((await supervisor.page("/setup?project=sunny")).text) == [
            "已保存 sunny 的排班。"
        ]
        # Plumbing had no rule (dispatched by hand): it is now offered automatically.
        rule = "/setup/projects/sunny/rules/new"
        saved = await supervisor.submit(
            rule,
            rule,
            category="plumbing",
            mode="auto",
            trade="plumbing",
            offer_minutes="5",
            load_limit="",
            max_attempts="",
        )
        assert saved.status_code == 303, saved.text
        listed = (await supervisor.page("/setup?project=sunny")).text
        assert 'data-category="plumbing"' in listed

    written = await dispatch_read(stack, "/v1/projects/sunny/roster")
    assert [s["members"] for s in written["shifts"]] == [["tech-zhao"]]
    assert written["on_call"] == ["tech-zhao"]
    rules = {
        r["category"]: r
        for r in (await dispatch_read(stack, "/v1/projects/sunny/dispatch-rules"))["items"]
    }
    assert (rules["plumbing"]["mode"], rules["plumbing"]["offer_seconds"]) == ("auto", 300)

    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        taken = await cs.submit("/calls", "/calls", **CALL)
        assert taken.status_code == 303, taken.text
    [order] = await orders_of(stack)
    assert order["category"] == "plumbing"
    assert order["offered_to"] == ["tech-zhao"]


async def test_a_supervisor_adds_a_team_and_a_person_to_it(stack: ConsoleStack) -> None:
    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        team = await supervisor.submit(
            "/setup/teams/new?project=sunny",
            "/setup/teams",
            id="security",
            name="护卫班",
            back_project="sunny",
            **{"trade-security": "on", "project-sunny": "on"},
        )
        assert team.status_code == 303, team.text
        person = await supervisor.submit(
            "/setup/people/new?project=sunny",
            "/setup/people",
            id="guard-li",
            name="李保安",
            role="technician",
            team="security",
            max_open_orders="3",
            back_project="sunny",
            **{"trade-security": "on", "project-sunny": "on", "building-b1": "on"},
        )
        assert person.status_code == 303, person.text
        page = (await supervisor.page("/setup?project=sunny")).text
        assert notes(page) == ["李保安 saved."]
        assert 'data-team="security"' in page and 'data-person="guard-li"' in page
        # Editing keeps what the form shows: the person's team and trades are ticked.
        edit = (await supervisor.page("/setup/people/guard-li?project=sunny")).text
        assert 'name="trade-security" checked' in edit and 'name="building-b1" checked' in edit
        maintenance = (await supervisor.page("/setup/teams/maintenance?project=sunny")).text
        assert 'value="维修班"' in maintenance and 'name="project-sunny" checked' in maintenance
        # Every other category gets a rule of its own too.
        default = "/setup/projects/sunny/rules/*"
        saved = await supervisor.submit(default, default, mode="manual", trade="plumbing")
        assert saved.status_code == 303, saved.text
        assert "Every other category" in (await supervisor.page(default)).text

    record = await dispatch_read(stack, "/v1/staff/guard-li")
    assert (record["team"], record["trades"], record["buildings"]) == (
        "security",
        ["security"],
        ["b1"],
    )
    assert record["max_open_orders"] == 3
    assert (await dispatch_read(stack, "/v1/teams/security"))["name"] == "护卫班"
    rules = (await dispatch_read(stack, "/v1/projects/sunny/dispatch-rules"))["items"]
    assert {"category": "*", "mode": "manual"}.items() <= next(
        r for r in rules if r["category"] == "*"
    ).items()


async def test_a_form_the_console_cannot_send_or_dispatch_refuses_is_shown_again_with_why(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        rule = "/setup/projects/sunny/rules/electrical"
        too_many = await supervisor.submit(
            rule, rule, mode="auto", trade="electrical", load_limit="500"
        )
        assert too_many.status_code == 422
        assert (
            "Open orders above which a technician gets no more: "
            "Give a whole number from 1 to 100." in too_many.text
        )
        roster = "/setup/projects/sunny/roster"
        shift = {"shift0-name": "夜班", "shift0-team": "maintenance", "shift0-kind": "always"}
        no_people = await supervisor.submit(roster, roster, **shift)
        assert no_people.status_code == 422
        assert "Shift: Tick the people of each shift." in no_people.text
        assert 'value="夜班"' in no_people.text
        # A day that does not exist: dispatch refuses it, the page says so and keeps the shift.
        bad_day = await supervisor.submit(
            roster,
            roster,
            **shift,
            **{"shift0-member-tech-wang": "on", "shift0-anchor": "2026-02-30"},
        )
        assert bad_day.status_code == 422
        assert "dispatch refused:" in bad_day.text and 'value="夜班"' in bad_day.text
        assert 'name="shift0-member-tech-wang" checked' in bad_day.text
    assert (await dispatch_read(stack, "/v1/projects/sunny/roster"))["shifts"] == []
    rules = (await dispatch_read(stack, "/v1/projects/sunny/dispatch-rules"))["items"]
    assert [r["load_limit"] for r in rules if r["category"] == "electrical"] != [500]


async def test_a_technician_may_not_open_the_setup_pages_and_the_apis_refuse_it_too(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as tech:
        await tech.sign_in("tech-wang")
        for page in ("/setup", "/setup/projects/sunny/roster", "/sla", "/setup/people/tech-wang"):
            assert (await tech.page(page)).status_code == 403, page
        assert 'href="/setup"' not in (await tech.page("/tech")).text
    technician = auth(Role.TECHNICIAN, subject="tech-wang")
    client = stack.api.client
    roster = await client.put("/v1/projects/sunny/roster", json={"shifts": []}, headers=technician)
    rule = await client.put(
        "/v1/projects/sunny/dispatch-rules/plumbing",
        json={"mode": "auto", "trade": "plumbing"},
        headers=technician,
    )
    preview = await client.post("/v1/sla/policies/preview", json={}, headers=technician)
    assert (roster.status_code, rule.status_code, preview.status_code) == (403, 403, 403)


async def test_the_sla_page_shows_how_the_draft_moves_a_running_clock_before_publishing(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **CALL)
    [order] = await orders_of(stack)

    async with stack.browser("en") as manager:
        await manager.sign_in("dev-project_manager")
        page = (await manager.page("/sla")).text
        assert 'data-testid="policy-version">Version 1 ' in page
        rules = page.split('data-testid="clock-rules"')[1].split("</table>")[0]
        # The arrival clock's row: 0 h 3 min by default.
        arrival = next(row for row in rules.split("<tr ")[1:] if ">Arrival<" in row)
        n = arrival.split('data-rule="')[1].split('"')[0]
        fields = current_fields(page)
        fields.update({f"rule{n}-hours": "0", f"rule{n}-minutes": "10"})
        previewed = await manager.submit("/sla", "/sla/preview", **fields)
        assert previewed.status_code == 200, previewed.text
        shown = previewed.text.split('data-testid="preview"')[1].split("</section>")[0]
        row = shown.split(f'data-order="{order["id"]}" data-clock="arrival"')[1].split("</tr>")[0]
        # Due at 10:03 in Shanghai now; 10:10 under the draft.
        assert "10:03" in row and 'data-testid="draft-due">10:10' in row
        assert 'data-testid="publish"' in previewed.text
        # Nothing published yet.
        assert (await dispatch_read(stack, "/v1/sla/policies"))["current"] == 1

        assert 'data-testid="move"' in previewed.text
        published = await manager.submit("/sla", "/sla/publish", **fields, move="on")
        assert published.status_code == 303, published.text
        assert notes((await manager.page("/sla")).text) == [
            "SLA policy version 2 published: new clocks run under it.",
            "Orders whose running clocks moved to it: 1.",
        ]
    current = await dispatch_read(stack, "/v1/sla/policies/current?project=sunny")
    [rule] = [r for r in current["clocks"] if r["name"] == "arrival"]
    assert (current["version"], rule["target"]) == (2, "PT10M")
    # The order's running arrival clock moved as the preview said.
    clocks = (await dispatch_read(stack, f"/v1/work-orders/{order['id']}/sla"))["clocks"]
    [arrival_clock] = [c for c in clocks if c["clock"] == "arrival"]
    assert (arrival_clock["policy_version"], arrival_clock["due_at"][11:16]) == (2, "02:10")


async def test_a_policy_published_meanwhile_is_not_overwritten_by_the_form(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en") as manager:
        await manager.sign_in("dev-project_manager")
        page = (await manager.page("/sla")).text
        fields = current_fields(page)
        other = await dispatch_read(stack, "/v1/sla/policies/current")
        draft = {k: v for k, v in other.items() if k not in ("version", "projects")}
        published = await stack.api.client.post(
            "/v1/sla/policies", json=draft, headers=auth(Role.HQ_QUALITY)
        )
        assert published.status_code == 201, published.text

        stale = await manager.submit("/sla", "/sla/publish", **fields)

        assert stale.status_code == 422
        assert "Someone changed this meanwhile" in stale.text
        assert 'data-testid="policy-version">Version 2 ' in stale.text
    assert (await dispatch_read(stack, "/v1/sla/policies"))["current"] == 2


async def test_headquarters_preview_and_publish_but_do_not_move_running_clocks(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en") as hq:
        await hq.sign_in("dev-hq_quality")
        page = await hq.page("/sla")
        assert page.status_code == 200
        previewed = await hq.submit("/sla", "/sla/preview", **current_fields(page.text))
        assert previewed.status_code == 200, previewed.text
        assert 'data-testid="publish"' in previewed.text
        # dispatch lets only supervisors and project managers recalculate.
        assert 'data-testid="move"' not in previewed.text
    async with stack.browser() as supervisor:
        await supervisor.sign_in("dev-supervisor")
        assert (await supervisor.page("/sla")).status_code == 403


def current_fields(page: str) -> dict[str, str]:
    """The values the SLA form shows: its inputs and its selected options."""
    fields = {
        name: value
        for name, value in re.findall(
            r'<input id="[^"]*" name="([^"]+)" type="number"[^>]*value="([^"]*)"', page
        )
    }
    for name, body in re.findall(
        r'<select id="[^"]*" name="(rule\d+-calendar)"[^>]*>(.*?)</select>', page, re.S
    ):
        fields[name] = re.findall(r'<option value="([^"]+)" selected', body)[0]
    fields["base_version"] = re.findall(r'name="base_version" value="([^"]+)"', page)[0]
    return fields
