"""`wo privacy`: a privacy officer erases, exports and lists who is due, through dispatch's
API (docs/operations.md, "wo privacy")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from shared.phones import normalise_phone
from shared.privacy.pseudonym import resident_reference
from tests.integration.dispatch.api_support import TENANT, Api, running_api
from wo.cli import app


async def _wo(api: Api, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """Run `wo` in a thread, its HTTP calls answered by the in-process dispatch."""
    loop = asyncio.get_running_loop()

    def request(method: str, url: str, **kw: Any) -> httpx.Response:
        kw.pop("timeout", None)
        call = api.client.request(method, url, **kw)
        return asyncio.run_coroutine_threadsafe(call, loop).result()

    monkeypatch.setattr("services.dispatch.entrypoints.privacy_cli.httpx.request", request)
    base = ["--dispatch-url", "http://dispatch"]
    return await asyncio.to_thread(CliRunner().invoke, app, [*args, "--tenant", TENANT, *base])


async def test_erase_then_export_and_retention_through_the_api(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        await api.report()
        key = api.dispatch.settings.privacy_keys().resident_reference
        ref = resident_reference(key, TENANT, normalise_phone("13800000000"))

        due = await _wo(api, monkeypatch, "privacy", "retention", "--dry-run")
        erased = await _wo(api, monkeypatch, "privacy", "erase", ref, "--case", "T-1")
        again = await _wo(api, monkeypatch, "privacy", "erase", ref)
        refused = await _wo(api, monkeypatch, "privacy", "erase", "rsd_" + "a" * 24)

        assert due.exit_code == 0, due.output
        assert "0 resident(s) due" in due.output
        assert erased.exit_code == 0, erased.output
        assert f"Erased {ref}: 1 key(s) destroyed now, 1 work order(s)" in erased.output
        assert again.exit_code == 0 and "1 key(s) destroyed now" in again.output
        assert refused.exit_code == 1 and "unknown_resident" in refused.output


async def test_export_prints_the_residents_data_as_json(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(database_url, sla_scheduler_enabled=False) as api:

        class NoMessages:
            async def sent_to(self, resident: str, token: str) -> list[dict[str, Any]]:
                return []

        api.dispatch.resident_messages = NoMessages()
        await api.report()
        key = api.dispatch.settings.privacy_keys().resident_reference
        ref = resident_reference(key, TENANT, normalise_phone("13800000000"))

        exported = await _wo(api, monkeypatch, "privacy", "export", ref)

        assert exported.exit_code == 0, exported.output
        body = json.loads(exported.output)
        assert body["contact"]["phone"] == "13800000000" and body["messages"] == []
