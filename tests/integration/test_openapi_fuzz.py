"""schemathesis over the OpenAPI documents of dispatch, notify and reporting.

Each service runs in-process (its ASGI app with its lifespan) on a real SQLite file and a
real nats-server, and is called with a valid token, so generated requests reach the
routes. Valid and invalid requests alike must never get a 5xx, every error must be RFC 9457
problem details, and every answer must be one the document declares (status, content
type, schema). Examples per operation are few, so the three documents take a minute or two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.python.asgi import shutdown_lifespans

from services.dispatch.entrypoints.app import create_app as dispatch_app
from services.dispatch.settings import DispatchSettings
from services.notify.entrypoints.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.reporting.entrypoints.app import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from wo.processes import NatsServer
from wo.token import mint_dev_token

pytestmark = pytest.mark.timeout(600)

EXAMPLES = 12
"""Generated requests per operation (bounded: the whole module stays within minutes)."""

TOKEN = mint_dev_token(role=Role.HQ_QUALITY, tenant="acme", projects=["*"], subject="hq-1")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def served_schema(
    tmp: Path, build: Callable[[str, str], FastAPI]
) -> Iterator[schemathesis.BaseSchema]:
    """The OpenAPI document of the app `build` makes, its lifespan run by schemathesis."""
    nats = NatsServer(tmp / "jetstream")
    nats.start(log_file=tmp / "nats.log")
    try:
        app = build(f"sqlite+aiosqlite:///{tmp / 'service.db'}", nats.url)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        shutdown_lifespans()
        nats.stop()


SERVICES: dict[str, Callable[[str, str], FastAPI]] = {
    "dispatch": lambda db, nats: dispatch_app(
        DispatchSettings(environment="development", database_url=db, nats_url=nats)
    ),
    "notify": lambda db, nats: notify_app(
        NotifySettings(environment="development", database_url=db, nats_url=nats)
    ),
    "reporting": lambda db, nats: reporting_app(
        ReportingSettings(environment="development", database_url=db, nats_url=nats)
    ),
}


@pytest.fixture(params=sorted(SERVICES))
def service_schema(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[schemathesis.BaseSchema]:
    """Each service's document, its app running in-process."""
    yield from served_schema(tmp_path, SERVICES[request.param])


def errors_are_problem_details(ctx: Any, response: Any, case: schemathesis.Case[Any]) -> bool:
    """Every 4xx is RFC 9457 problem details with a machine code."""
    if response.status_code >= 400:
        media_type = response.headers.get("content-type", [""])
        media_type = media_type[0] if isinstance(media_type, list) else media_type
        assert media_type.startswith("application/problem+json"), (
            f"{response.status_code} answered as {media_type!r}"
        )
        body = response.json()
        assert isinstance(body, dict) and body.get("code") and body.get("status"), body
    return True


CHECKS: list[Any] = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    errors_are_problem_details,
]
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def exercise(schema: schemathesis.BaseSchema) -> None:
    """Call every operation with generated requests; collect what each check refused."""
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case[Any]) -> None:
            generated: Mapping[str, Any] = case.headers or {}
            response = case.call_and_validate(headers={**AUTH, **generated}, checks=CHECKS)
            statuses[response.status_code] += 1

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The token is valid, so generated requests get past authentication to the routes.
    assert sum(n for status, n in statuses.items() if status < 300) > 0, statuses


def test_no_input_gets_a_5xx_and_every_answer_keeps_the_document(
    service_schema: schemathesis.BaseSchema,
) -> None:
    exercise(service_schema)
