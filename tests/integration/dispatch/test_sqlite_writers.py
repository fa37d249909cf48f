"""On SQLite every write takes the writer lock up front, so writers wait their turn.

Publishing an SLA policy reads the latest version and then inserts the next one; begun
deferred, that read-then-write meets the group commit's writers and SQLite answers
"database is locked" at once instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from services.dispatch.domain.sla import default_policy
from shared.auth import Role
from tests.integration.dispatch.api_support import auth, report_body, running_api

REPORTS = 120
PUBLISHES = 20


def _policy() -> dict[str, Any]:
    body = default_policy().model_dump(mode="json")
    del body["version"]
    return body


async def test_sla_policies_publish_while_reports_are_written(tmp_path: Path) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        reports = [
            api.client.post(
                "/v1/work-orders", json=report_body(), headers=auth(Role.CUSTOMER_SERVICE)
            )
            for _ in range(REPORTS)
        ]
        publishes = [
            api.client.post("/v1/sla/policies", json=_policy(), headers=auth(Role.PROJECT_MANAGER))
            for _ in range(PUBLISHES)
        ]
        # Interleaved: a publish between every six reports.
        mixed = [*reports]
        for n, publish in enumerate(publishes):
            mixed.insert(n * 7, publish)
        answers = await asyncio.gather(*mixed)
        listed = await api.client.get("/v1/sla/policies", headers=auth(Role.PROJECT_MANAGER))

    published = [a for a in answers if a.url.path == "/v1/sla/policies"]
    reported = [a for a in answers if a.url.path == "/v1/work-orders"]
    assert Counter(a.status_code for a in published) == {201: PUBLISHES}
    assert Counter(a.status_code for a in reported) == {201: REPORTS}
    versions = [v["version"] for v in listed.json()["items"]]
    assert versions == list(range(1, PUBLISHES + 2))
