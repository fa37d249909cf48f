"""Supervisors edit notify's contacts and routes in the console, through notify's own API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.notify.domain.config import Contact, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from shared.auth import Role
from tests.integration.console.support import ConsoleStack, notes
from tests.integration.dispatch.api_support import TENANT, auth

CONFIG = NotifyConfig(
    tenants={
        TENANT: TenantConfig(
            contacts={
                "sup-chen": Contact(name="陈主管", channels=(ChannelName.INBOX,)),
                "tech-wang": Contact(
                    name="王师傅", channels=(ChannelName.INBOX,), phone="13900000000"
                ),
            }
        )
    }
)


@pytest.fixture
def notify_config() -> NotifyConfig:
    """notify's configuration for these tests: two contacts."""
    return CONFIG


async def notify_read(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_supervisor_edits_a_contacts_name_and_channels(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, api = both
    async with stack.browser() as supervisor:
        await supervisor.sign_in("dev-supervisor")
        page = await supervisor.page("/notifications")
        assert page.status_code == 200
        contacts = page.text.split('data-testid="contacts"')[1].split("</table>")[0]
        assert 'data-contact="tech-wang"' in contacts and "王师傅" in contacts
        assert "站内信" in contacts
        form = "/notifications/contacts/tech-wang"
        edit = await supervisor.page(form)
        assert 'value="王师傅"' in edit.text
        saved = await supervisor.submit(
            form, form, name="王建国", **{"channel-inbox": "on", "channel-sms": "on"}
        )
        assert saved.status_code == 303, saved.text
        assert notes((await supervisor.page("/notifications")).text) == ["已保存联系人 王建国。"]
        # notify's own contact changed; what the form does not show (the phone) is kept.
        contact = await notify_read(api, "/v1/contacts/tech-wang")
        assert (contact["name"], contact["channels"]) == ("王建国", ["inbox", "sms"])
        assert contact["phone"] == "13900000000"

        # SMS without a phone number: notify refuses, the page says so and keeps the choice.
        form = "/notifications/contacts/sup-chen"
        refused = await supervisor.submit(form, form, name="陈主管", **{"channel-sms": "on"})
        assert refused.status_code == 422 and "通知服务拒绝了操作" in refused.text
        assert 'name="channel-sms" checked' in refused.text
        assert (await notify_read(api, "/v1/contacts/sup-chen"))["channels"] == ["inbox"]


async def test_a_supervisor_sets_who_hears_of_an_event_in_one_project(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, api = both
    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        page = (await supervisor.page("/notifications?project=sunny")).text
        row = page.split('data-event="workorder.completed"')[1].split("</tr>")[0]
        assert "resident" in row and "built in" in row
        form = "/notifications/routes/workorder.completed?project=sunny"
        edit = await supervisor.page(form)
        assert "resident completed\nowner owner_update" in edit.text
        assert 'name="project" value="sunny"' in edit.text
        action = "/notifications/routes/workorder.completed"
        bad = await supervisor.submit(form, action, project="sunny", targets="owner")
        assert bad.status_code == 422 and "Each line is a recipient and a template" in bad.text
        unknown = await supervisor.submit(
            form, action, project="sunny", targets="the-mayor completed"
        )
        assert unknown.status_code == 422 and "notify refused" in unknown.text
        saved = await supervisor.submit(
            form, action, project="sunny", targets="owner completed\nrole:supervisor completed"
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/notifications?project=sunny"
        after = (await supervisor.page("/notifications?project=sunny")).text
        row = after.split('data-event="workorder.completed"')[1].split("</tr>")[0]
        assert "this project&#39;s own" in row and "resident" not in row
    routes = await notify_read(api, "/v1/routes", project="sunny")
    completed = next(r for r in routes if r["event_type"] == "workorder.completed")
    assert completed["source"] == "project"
    assert completed["targets"] == [
        {"recipient": "owner", "template": "completed"},
        {"recipient": "role:supervisor", "template": "completed"},
    ]
    # Every other project keeps the built-in route.
    tenant = await notify_read(api, "/v1/routes")
    assert next(r for r in tenant if r["event_type"] == "workorder.completed")["source"] == (
        "default"
    )


async def test_only_supervisors_and_managers_open_who_hears_what(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, _ = both
    async with stack.browser() as someone:
        await someone.sign_in("dev-customer_service")
        assert (await someone.page("/notifications")).status_code == 403
    async with stack.browser() as manager:
        await manager.sign_in("dev-project_manager")
        assert (await manager.page("/notifications")).status_code == 200
