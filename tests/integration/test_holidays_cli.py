"""`wo sla holidays`: the operator loads a year's schedule from a file, as docs/sla.md shows."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from services.dispatch.adapters.public_holidays import OPERATOR_SCOPE
from services.dispatch.domain.sla import PackageYear, china_public_calendar
from shared.auth import Role
from tests.integration.dispatch.api_support import auth, running_api
from wo.cli import app

GUIDE = Path(__file__).parents[2] / "docs" / "sla.md"


def documented(language: str, containing: str) -> str:
    """The fenced ```language block of docs/sla.md that contains `containing`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    [block] = [b for b in blocks if containing in b]
    return str(block)


async def wo(*args: str) -> Result:
    # The command runs its own event loop, so it cannot run on the test's.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def package_without_2027(year: int) -> PackageYear:
    days_off, make_up = china_public_calendar(year)
    return days_off, frozenset() if year == 2027 else make_up


async def test_the_documented_commands_load_the_schedule_for_every_tenant(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "schedule.json").write_text(documented("json", '"make_up_days"'), "utf-8")
    commands = [
        shlex.split(line.removeprefix("$ wo "))
        for line in documented("console", "wo sla holidays").splitlines()
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        loaded = await wo(*commands[0], "--database-url", database_url)
        shown = await wo(*commands[1], "--database-url", database_url)

    assert loaded.exit_code == 0, loaded.output
    assert "Loaded the 2027 schedule for every tenant" in loaded.stdout
    assert shown.exit_code == 0, shown.output
    assert "2027: operator" in shown.stdout
    assert "make-up working days: 2027-01-02" in shown.stdout
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        assert api.dispatch.public_holidays is not None
        api.dispatch.public_holidays.package = package_without_2027
        answer = await api.client.get("/v1/public-holidays/2027", headers=auth(Role.DISPATCHER))
        rows = await api.dispatch.public_holidays.loaded("acme", 2027)
    assert answer.json()["origin"] == "operator"
    assert answer.json()["source"] == "国办发明电〔2026〕1号"
    assert [(r.scope, r.loaded_by) for r in rows] == [(OPERATOR_SCOPE, "operator")]


async def test_a_tenants_own_schedule_is_shown_for_that_tenant(
    database_url: str, tmp_path: Path
) -> None:
    schedule = json.loads(documented("json", '"make_up_days"'))
    file = tmp_path / "acme.json"
    file.write_text(json.dumps({**schedule, "make_up_days": []}), "utf-8")

    loaded = await wo(
        "sla",
        "holidays",
        "load",
        "--year",
        "2027",
        "--file",
        str(file),
        "--tenant",
        "acme",
        "--database-url",
        database_url,
    )
    acme = await wo(
        "sla",
        "holidays",
        "show",
        "--year",
        "2027",
        "--tenant",
        "acme",
        "--database-url",
        database_url,
    )

    assert loaded.exit_code == 0, loaded.output
    assert "2027: tenant" in acme.stdout
    assert "make-up working days: none" in acme.stdout


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("not json", (), "is not JSON"),
        ({"year": 2027, "days_off": "soon"}, (), "is not a schedule"),
        (
            {"year": 2027, "days_off": ["2027-01-01"], "make_up_days": ["2027-01-04"]},
            (),
            "make_up_day_not_weekend",
        ),
        ({"year": 2028, "days_off": ["2028-01-01"]}, (), "year_mismatch"),
        (
            {"year": 2027, "days_off": ["2027-01-01"]},
            ("--tenant", "acme"),
            "either --tenant T or --all-tenants",
        ),
        (None, (), "cannot read"),
    ],
)
async def test_a_bad_file_or_scope_fails_with_a_message_and_stores_nothing(
    database_url: str, tmp_path: Path, content: Any, extra: tuple[str, ...], message: str
) -> None:
    file = tmp_path / "schedule.json"
    if content is not None:
        file.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")

    result = await wo(
        "sla",
        "holidays",
        "load",
        "--year",
        "2027",
        "--file",
        str(file),
        "--all-tenants",
        *extra,
        "--database-url",
        database_url,
    )
    shown = await wo("sla", "holidays", "show", "--year", "2027", "--database-url", database_url)

    assert result.exit_code == 1
    assert message in result.output
    assert "2027: operator" not in shown.stdout
