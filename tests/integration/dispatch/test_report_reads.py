"""What a report reads besides its append: the hot path's statements, counted.

A report used to read its project, its owner's directory entry and the caller's
idempotency key each time, each in a transaction of its own, and to write its answer's
access-log entry in another; together they cost more than the append. These tests hold
the reads to what is needed: the project and the owner once while cached, the key only
inside the append's own transaction.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.statements import statement_kind
from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, report_body, running_api


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Statements run on any engine while the block runs, by kind (`SELECT projects`)."""
    counts: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counts[statement_kind(statement)] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def _report(api: Api) -> None:
    response = await api.client.post(
        "/v1/work-orders",
        json=report_body(),
        headers={**auth(Role.CUSTOMER_SERVICE), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text


async def test_once_cached_a_report_reads_no_project_nor_owner_and_its_key_only_in_the_append(
    database_url: str,
) -> None:
    async with running_api(database_url) as api:
        await _report(api)  # fills the caches
        with counted() as counts:
            for _ in range(5):
                await _report(api)

    assert counts["INSERT events"] == 5  # one append each, one after the other
    assert counts["SELECT projects"] == 0
    assert counts["SELECT staff"] == 0
    # The key is looked up by the append's own transaction, once per append.
    assert counts["SELECT idempotency_keys"] == 5
