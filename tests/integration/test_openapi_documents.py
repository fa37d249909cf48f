"""The three OpenAPI documents declare what every operation answers.

Every operation declares a success with a real schema (or the non-JSON media type it is
sent as), every error it declares is problem+json with the `Problem` schema, and every
example a document shows is valid against its own schema. The answers themselves are held
to these declarations by the API tests (`tests/openapi_support.py`) and by the fuzzer
(`test_openapi_fuzz.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from jsonschema_rs import Draft202012Validator

from services.dispatch.entrypoints.app import create_app as dispatch_app
from services.dispatch.settings import DispatchSettings
from services.notify.entrypoints.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.reporting.entrypoints.app import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from shared.http.problems import PROBLEM_JSON, PROBLEM_SCHEMA_REF
from tests.openapi_support import DocumentKeeper

APPS: dict[str, Callable[[], FastAPI]] = {
    "dispatch": lambda: dispatch_app(DispatchSettings(environment="development")),
    "notify": lambda: notify_app(NotifySettings(environment="development")),
    "reporting": lambda: reporting_app(ReportingSettings(environment="development")),
}

NON_JSON = frozenset(
    {
        "text/event-stream",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
"""The media types of answers that are not JSON: server-sent events, exports, metrics."""


@pytest.fixture(params=sorted(APPS), scope="module")
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A service's OpenAPI document (the app is built, not started)."""
    return APPS[request.param]().openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, ops in document["paths"].items():
        for method, operation in ops.items():
            yield f"{method.upper()} {path}", operation


def declares_a_success(operation: dict[str, Any]) -> bool:
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        if status == "204":
            return True
        for media_type, content in response.get("content", {}).items():
            schema = content.get("schema") or {}
            if media_type in NON_JSON or "$ref" in schema or schema.get("type"):
                return True
    return False


def test_every_operation_declares_its_success_with_a_schema(document: dict[str, Any]) -> None:
    undeclared = [name for name, op in operations(document) if not declares_a_success(op)]

    assert not undeclared, undeclared


def test_every_declared_schema_names_a_component_that_exists(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    refs = {
        content["schema"]["$ref"].rsplit("/", 1)[1]
        for _, op in operations(document)
        for response in op["responses"].values()
        for content in response.get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }

    assert refs and refs <= set(components), refs - set(components)


def test_every_error_is_declared_as_problem_details(document: dict[str, Any]) -> None:
    wrong = []
    for name, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or name == "GET /readyz":
                continue
            content = response.get("content", {})
            if list(content) != [PROBLEM_JSON] or content[PROBLEM_JSON].get("schema") != {
                "$ref": PROBLEM_SCHEMA_REF
            }:
                wrong.append(f"{name} {status}: {content}")

    assert not wrong, wrong


def test_every_example_matches_its_schema(document: dict[str, Any]) -> None:
    examples = [
        (name, status, content)
        for name, op in operations(document)
        for status, response in op["responses"].items()
        for content in response.get("content", {}).values()
        if "example" in content
    ]
    for name, status, content in examples:
        schema = {**content["schema"], "components": document["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(content["example"])]
        assert not errors, f"{name} {status}: {errors}"


PROBLEM = b'{"title": "Unauthorized", "status": 401, "code": "missing_token", "detail": "-"}'


def test_the_keeper_refuses_a_body_the_document_does_not_describe() -> None:
    keeper = DocumentKeeper(APPS["dispatch"]().openapi())

    with pytest.raises(AssertionError, match="does not match the document"):
        keeper.check(
            "GET", "/v1/projects", 200, "application/json", b'{"items": [{"project": "x"}]}'
        )
    with pytest.raises(AssertionError, match="not declared"):
        keeper.check("GET", "/v1/projects", 201, "application/json", b"{}")
    with pytest.raises(AssertionError, match="headers not declared"):
        keeper.check("GET", "/v1/projects", 200, "application/json", b'{"items": []}', ["ETag"])
    keeper.check("GET", "/v1/projects", 200, "application/json", b'{"items": []}')
    keeper.check(
        "GET", "/v1/projects", 401, "application/problem+json", PROBLEM, ["www-authenticate"]
    )
    assert keeper.checked == {("GET", "/v1/projects", 200), ("GET", "/v1/projects", 401)}
