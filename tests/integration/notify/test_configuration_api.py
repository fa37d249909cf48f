"""Who hears what, edited over notify's API: kept in its database, sealed, seen by every
process, never showing a credential back."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from services.notify.adapters import tables as t
from services.notify.adapters.config_store import SqlConfigStore
from services.notify.adapters.sealed import Sealer
from services.notify.domain.config import Contact, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.service_layer.configuration import LiveConfig
from shared.auth import Role
from tests.integration.notify.conftest import Harness, token
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import PROJECT, TENANT, envelope, reported
from wo.cli import app

HQ_SUPERVISOR = token(Role.SUPERVISOR, "sup-chen", ["*"])
SUNNY_SUPERVISOR = token(Role.SUPERVISOR, "sup-sun", [PROJECT])
TECHNICIAN = token(Role.TECHNICIAN, "tech-wang")
ROBOT_TOKEN = "ding-access-token-0c9d8e7f6a5b"
SIGNING = "SECding-sign-1a2b3c4d5e6f"
ROBOT = {
    "name": "维修群",
    "channels": ["dingtalk"],
    "dingtalk": {
        "url": f"https://oapi.dingtalk.com/robot/send?access_token={ROBOT_TOKEN}",
        "secret": SIGNING,
    },
}
EMPTY = NotifyConfig(tenants={TENANT: TenantConfig(resident_channels=(ChannelName.INBOX,))})


async def test_a_contact_is_kept_sealed_and_answered_without_its_credentials(
    harness: Harness,
) -> None:
    notify = await harness.start(EMPTY)
    async with harness.api() as api:
        put = await api.put("/v1/contacts/repair-chat", json=ROBOT, headers=HQ_SUPERVISOR)
        listed = await api.get("/v1/contacts", headers=HQ_SUPERVISOR)
    assert put.status_code == 200, put.text
    assert put.json()["dingtalk"] == {"url": "https://oapi.dingtalk.com/…", "signed": True}
    for answer in (put.text, listed.text):
        assert ROBOT_TOKEN not in answer and SIGNING not in answer
    # The running service sends with the full endpoint...
    endpoint = notify.config.tenant(TENANT).contacts["repair-chat"].dingtalk
    assert endpoint is not None and ROBOT_TOKEN in endpoint.url and endpoint.secret == SIGNING
    # ...while its row holds neither credential in clear.
    async with notify.engine.connect() as conn:
        rows = (await conn.execute(select(t.tenant_configs.c.document))).scalars().all()
    stored = " ".join(str(r) for r in rows)
    assert "repair-chat" in stored
    assert ROBOT_TOKEN not in stored and SIGNING not in stored


async def test_a_patch_changes_the_name_and_keeps_the_robot_credential(harness: Harness) -> None:
    notify = await harness.start(EMPTY)
    async with harness.api() as api:
        await api.put("/v1/contacts/repair-chat", json=ROBOT, headers=HQ_SUPERVISOR)
        patched = await api.patch(
            "/v1/contacts/repair-chat",
            content=b'{"name": "Repairs", "language": "en"}',
            headers={**HQ_SUPERVISOR, "Content-Type": "application/merge-patch+json"},
        )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["language"]) == ("Repairs", "en")
    endpoint = notify.config.tenant(TENANT).contacts["repair-chat"].dingtalk
    assert endpoint is not None and endpoint.secret == SIGNING


async def test_routes_and_roles_set_through_the_api_decide_who_hears(harness: Harness) -> None:
    await harness.start(EMPTY)
    supervisor = {"name": "赵主管", "channels": ["inbox"]}
    async with harness.api() as api:
        assert (
            await api.put("/v1/contacts/sup-zhao", json=supervisor, headers=HQ_SUPERVISOR)
        ).status_code == 200
        role = await api.put(
            "/v1/roles/supervisor",
            params={"project": PROJECT},
            json={"people": ["sup-zhao"]},
            headers=SUNNY_SUPERVISOR,
        )
        route = await api.put(
            "/v1/routes/workorder.reported",
            params={"project": PROJECT},
            json={"targets": [{"recipient": "role:supervisor", "template": "reported_owner"}]},
            headers=SUNNY_SUPERVISOR,
        )
        routes = await api.get("/v1/routes", params={"project": PROJECT}, headers=HQ_SUPERVISOR)
    assert role.status_code == 200, role.text
    assert route.status_code == 200, route.text
    by_type = {r["event_type"]: r for r in routes.json()}
    assert by_type["workorder.reported"]["source"] == "project"
    assert by_type["workorder.completed"]["source"] == "default"

    await harness.publish(envelope(reported(), 1))

    async def told() -> bool:
        rows = await harness.deliveries(status="sent")
        return [r["recipient"] for r in rows] == ["person:sup-zhao"]

    await eventually(told, what="the supervisor named through the API told of the report")


async def test_who_may_change_what(harness: Harness) -> None:
    await harness.start(EMPTY)
    async with harness.api() as api:
        # Refused before the body is read: a technician learns nothing of its shape.
        assert (
            await api.put("/v1/contacts/x", json={"bad": 1}, headers=TECHNICIAN)
        ).status_code == 403
        assert (await api.get("/v1/contacts", headers=TECHNICIAN)).status_code == 403
        tenant_wide = await api.put(
            "/v1/roles/supervisor", json={"people": []}, headers=SUNNY_SUPERVISOR
        )
        assert (tenant_wide.status_code, tenant_wide.json()["code"]) == (
            403,
            "tenant_wide_change",
        )
        other_project = await api.put(
            "/v1/roles/supervisor",
            params={"project": "river-view"},
            json={"people": []},
            headers=SUNNY_SUPERVISOR,
        )
        assert (other_project.status_code, other_project.json()["code"]) == (
            404,
            "unknown_project",
        )


async def test_inconsistent_changes_are_refused_and_change_nothing(harness: Harness) -> None:
    notify = await harness.start(EMPTY)
    async with harness.api() as api:
        unknown_person = await api.put(
            "/v1/roles/supervisor", json={"people": ["nobody"]}, headers=HQ_SUPERVISOR
        )
        await api.put("/v1/contacts/sup-zhao", json={"channels": ["inbox"]}, headers=HQ_SUPERVISOR)
        await api.put("/v1/roles/supervisor", json={"people": ["sup-zhao"]}, headers=HQ_SUPERVISOR)
        still_named = await api.delete("/v1/contacts/sup-zhao", headers=HQ_SUPERVISOR)
        no_such_type = await api.put(
            "/v1/routes/workorder.nonsense", json={"targets": []}, headers=HQ_SUPERVISOR
        )
        missing_address = await api.put(
            "/v1/contacts/mail-only", json={"channels": ["email"]}, headers=HQ_SUPERVISOR
        )
    assert (unknown_person.status_code, unknown_person.json()["code"]) == (
        422,
        "invalid_configuration",
    )
    assert (still_named.status_code, still_named.json()["code"]) == (422, "invalid_configuration")
    assert (no_such_type.status_code, no_such_type.json()["code"]) == (404, "unknown_event_type")
    assert missing_address.status_code == 422
    assert set(notify.config.tenant(TENANT).contacts) == {"sup-zhao"}


async def test_if_match_refuses_a_change_made_on_a_stale_read(harness: Harness) -> None:
    await harness.start(EMPTY)
    async with harness.api() as api:
        first = await api.get("/v1/contacts", headers=HQ_SUPERVISOR)
        etag = first.headers["ETag"]
        changed = await api.put(
            "/v1/contacts/a", json={}, headers={**HQ_SUPERVISOR, "If-Match": etag}
        )
        stale = await api.put(
            "/v1/contacts/b", json={}, headers={**HQ_SUPERVISOR, "If-Match": etag}
        )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert (stale.status_code, stale.json()["code"]) == (412, "version_mismatch")


async def test_another_process_sees_an_edit_and_a_restart_keeps_it(harness: Harness) -> None:
    notify = await harness.start(EMPTY)
    other = await LiveConfig.open(
        SqlConfigStore(notify.engine, harness.clock.now, Sealer(notify.settings.secrets_key()))
    )
    async with harness.api() as api:
        await api.put("/v1/contacts/repair-chat", json=ROBOT, headers=HQ_SUPERVISOR)
    assert "repair-chat" not in other.tenant(TENANT).contacts
    assert await other.refresh() is True
    assert "repair-chat" in other.tenant(TENANT).contacts
    assert await other.refresh() is False  # nothing moved since

    await harness.stop()
    # The same file at the next start seeds nothing over what the API changed.
    restarted = await harness.start(EMPTY)
    contacts: dict[str, Any] = dict(restarted.config.tenant(TENANT).contacts)
    assert "repair-chat" in contacts


async def test_wo_notify_config_import_loads_a_file_and_replace_overwrites(
    harness: Harness,
) -> None:
    notify = await harness.start(EMPTY)
    async with harness.api() as api:
        await api.put("/v1/contacts/sup-zhao", json={"channels": ["inbox"]}, headers=HQ_SUPERVISOR)
    engine_url = harness.database_url
    await harness.stop()
    file = harness.tmp_path / "other.json"
    file.write_text(
        NotifyConfig(
            tenants={
                TENANT: TenantConfig(contacts={"cs-li": Contact(name="李客服")}),
                "acme": TenantConfig(contacts={"ops": Contact()}),
            }
        ).model_dump_json(),
        encoding="utf-8",
    )
    env = {"NOTIFY_DATABASE_URL": engine_url, "ENVIRONMENT": "development"}
    runner = CliRunner()
    kept = await asyncio.to_thread(
        runner.invoke, app, ["notify", "config", "import", str(file)], env=env
    )
    assert kept.exit_code == 0, kept.output
    assert "acme" in kept.output and TENANT not in kept.output.replace("acme", "")
    replaced = await asyncio.to_thread(
        runner.invoke, app, ["notify", "config", "import", str(file), "--replace"], env=env
    )
    assert replaced.exit_code == 0, replaced.output
    broken = harness.tmp_path / "broken.json"
    broken.write_text('{"tenants": {"demo": {"roles": {"supervisor": ["ghost"]}}}}')
    refused = await asyncio.to_thread(
        runner.invoke, app, ["notify", "config", "import", str(broken)], env=env
    )
    assert refused.exit_code == 1 and "ghost" in refused.output

    restarted = await harness.start(EMPTY)
    assert set(restarted.config.tenant(TENANT).contacts) == {"cs-li"}
    assert set(restarted.config.tenant("acme").contacts) == {"ops"}
    assert notify is not restarted
