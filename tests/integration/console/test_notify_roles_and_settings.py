"""Supervisors set who holds notify's roles and change notify's settings in the console;
each form sends back the version it read, so a change made meanwhile is not overwritten."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from services.notify.domain.config import Contact, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from shared.auth import Role
from tests.integration.console.support import Browser, ConsoleStack, hidden, notes
from tests.integration.dispatch.api_support import TENANT, auth, token

CONFIG = NotifyConfig(
    tenants={
        TENANT: TenantConfig(
            contacts={
                "sup-chen": Contact(name="陈主管", channels=(ChannelName.INBOX,)),
                "sup-liu": Contact(name="刘主管", channels=(ChannelName.INBOX,)),
            }
        )
    }
)
SUPERVISOR = auth(Role.SUPERVISOR)


@pytest.fixture
def notify_config() -> NotifyConfig:
    """notify's configuration for these tests: two supervisors' contacts."""
    return CONFIG


async def notify_read(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return response.json()


def grant_every_project(stack: ConsoleStack, browser: Browser) -> None:
    """The signed-in supervisor's token grants every project (as headquarters' sign-in
    would): notify's tenant-wide settings need one."""
    console = stack.app.state.console
    session = console.sessions.current(browser.client.cookies["console_session"], None)
    user = replace(session.user, token=token(Role.SUPERVISOR, ["*"], session.user.subject))
    signed = console.sessions.sign_in(session, user)
    browser.client.cookies.clear()
    browser.client.cookies.set("console_session", signed.id)


async def test_a_supervisor_sets_who_holds_a_role_in_one_project(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, api = both
    async with stack.browser() as supervisor:
        await supervisor.sign_in("dev-supervisor")
        page = (await supervisor.page("/notifications?project=sunny")).text
        assert 'data-testid="roles"' in page
        picked = await supervisor.page("/notifications/roles?role=supervisor&project=sunny")
        assert picked.headers["location"] == "/notifications/roles/supervisor?project=sunny"
        form = "/notifications/roles/supervisor?project=sunny"
        assert 'name="person-sup-liu"' in (await supervisor.page(form)).text
        saved = await supervisor.submit(
            form, "/notifications/roles/supervisor", project="sunny", **{"person-sup-liu": "on"}
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/notifications?project=sunny"
        page = (await supervisor.page("/notifications?project=sunny")).text
        assert notes(page) == ["已保存 主管 的人员。"]
        row = page.split('data-role="supervisor"')[1].split("</tr>")[0]
        assert "sup-liu" in row
    roles = await notify_read(api, "/v1/roles", project="sunny")
    assert {"role": "supervisor", "people": ["sup-liu"], "source": "project"} in roles


async def test_a_role_changed_meanwhile_is_not_overwritten(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, api = both
    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        form = "/notifications/roles/supervisor?project=sunny"
        page = await supervisor.page(form)
        # Someone else changes notify's configuration after the form was read.
        other = await api.put(
            "/v1/roles/supervisor",
            params={"project": "sunny"},
            json={"people": ["sup-chen"]},
            headers=SUPERVISOR,
        )
        assert other.status_code == 200, other.text
        sent = {name: hidden(page.text, name) or "" for name in ("csrf", "etag", "project")}
        assert sent["etag"]
        stale = await supervisor.client.post(
            "/notifications/roles/supervisor", data={**sent, "person-sup-liu": "on"}
        )
        assert stale.status_code == 422
        assert "Someone changed this meanwhile" in stale.text
        # The form now shows the other person's change.
        assert 'name="person-sup-chen" checked' in stale.text
    roles = await notify_read(api, "/v1/roles", project="sunny")
    assert {"role": "supervisor", "people": ["sup-chen"], "source": "project"} in roles


async def test_a_supervisor_of_every_project_changes_notifys_settings(
    both: tuple[ConsoleStack, httpx.AsyncClient],
) -> None:
    stack, api = both
    fields = {
        "resident-sms": "on",
        "resident-inbox": "on",
        "resident_language": "zh-CN",
        "day_start": "08:30",
        "day_end": "20:00",
        "blocked-start1": "12:00",
        "blocked-end1": "13:00",
        "digest_threshold": "8",
        "digest_minutes": "10",
        "operator": "sup-chen",
    }
    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        # Granted only the registered projects: notify asks for every project.
        refused = await supervisor.submit(
            "/notifications/settings", "/notifications/settings", **fields
        )
        assert refused.status_code == 422 and "notify refused:" in refused.text
        grant_every_project(stack, supervisor)
        late = await supervisor.submit(
            "/notifications/settings",
            "/notifications/settings",
            **{**fields, "day_start": "21:00"},
        )
        assert late.status_code == 422
        assert "Residents may be contacted: A time window runs from HH:MM" in late.text
        # What was typed is shown again, to correct.
        assert re.search(r'name="day_start"[^>]*value="21:00"', late.text)
        assert '<option value="sup-chen" selected>' in late.text
        saved = await supervisor.submit(
            "/notifications/settings", "/notifications/settings", **fields
        )
        assert saved.status_code == 303, saved.text
        assert notes((await supervisor.page("/notifications")).text) == ["notify's settings saved."]
    settings = await notify_read(api, "/v1/notify-settings")
    assert settings["resident_channels"] == ["inbox", "sms"]
    assert settings["quiet_hours"]["day_start"].startswith("08:30")
    assert [w["start"][:5] for w in settings["quiet_hours"]["blocked"]] == ["12:00"]
    assert settings["digest"] == {"threshold": 8, "window_seconds": 600}
    assert settings["operator"] == "sup-chen"
