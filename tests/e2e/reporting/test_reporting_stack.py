"""End to end: under `wo up`, the README's work order shows in reporting's KPIs, and
reporting's old dashboard address leads to the console's quality page."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.docs_session import run_readme_walkthrough
from tests.e2e.wo_up_support import STACK_TIMEOUT, WoUp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _kpis(client: httpx.Client, url: str, token: str) -> dict[str, Any]:
    response = client.get(f"{url}/v1/kpis", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {k["kpi"]: k for k in response.json()["kpis"]}


def test_the_readme_work_order_reaches_reporting_kpis(wo_up: WoUp) -> None:
    stack = wo_up.wait_for_stack(STACK_TIMEOUT)
    reporting = stack["services"]["reporting"]["url"]
    token = stack["tokens"]["hq_quality"]
    run_readme_walkthrough(wo_up.var_dir.parent, wo_up.var_dir.parent / "blocks")
    with httpx.Client(timeout=10, trust_env=False) as client:
        kpis: dict[str, Any] = {}
        for _ in range(100):  # at most ~20 s for the projector to catch up
            kpis = _kpis(client, reporting, token)
            if kpis["satisfaction"]["denominator"] and kpis["repair_timeliness"]["denominator"]:
                break
            time.sleep(0.2)
        # The walkthrough's repair: on site and done at once, rated 5, closed.
        assert (kpis["satisfaction"]["numerator"], kpis["satisfaction"]["denominator"]) == (1, 1)
        timeliness = kpis["repair_timeliness"]
        assert (timeliness["numerator"], timeliness["denominator"]) == (1, 1)
        assert kpis["backlog"]["numerator"] == 0
        # The household count comes from the demo projects' registration (1,200 + 800).
        assert kpis["complaint_rate"]["denominator"] == 2000
        # The dashboard is the console's quality page: `wo up` told reporting where it is.
        console = stack["services"]["console"]["url"]
        dashboard = client.get(f"{reporting}/dashboard/")
        assert dashboard.status_code == 307
        assert dashboard.headers["location"] == f"{console}/quality#"
