"""Holding a service's answers to its OpenAPI document.

`DocumentKeeper` checks a real response against what the document declares for its
operation and status: the status must be declared for a success, the media type must be
declared, and a JSON body must validate against the declared schema. Hooked into the
in-process test clients of the API tests (`keep_to_document`), every answer those tests
provoke is checked, so a body and its description cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema_rs import Draft202012Validator

JSON_TYPES = ("application/json", "application/problem+json")
DECLARED_HEADERS = frozenset(
    {"etag", "location", "idempotent-replayed", "retry-after", "www-authenticate"}
)
"""Headers of meaning to a client: an answer that sets one declares it."""


@dataclass(frozen=True)
class Operation:
    """One documented operation: its path template as a pattern, and its responses."""

    method: str
    template: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


_DOCUMENTS: dict[tuple[Any, ...], dict[str, Any]] = {}
"""Documents drawn, by the routes they were drawn from (`_routes_of`); kept, so their ids
in `_VALIDATORS` stay theirs."""
_VALIDATORS: dict[tuple[int, str], Draft202012Validator] = {}


def _routes_of(app: FastAPI) -> tuple[Any, ...]:
    """What an app's document is drawn from: its title and version, and each route's path,
    methods, and for a route in the schema its endpoint (the function itself) and model."""
    return (app.title, app.version, tuple(_drawn_from(route) for route in app.routes))


def _drawn_from(route: object) -> tuple[Any, ...]:
    path = getattr(route, "path", None)
    methods = tuple(sorted(getattr(route, "methods", None) or ()))
    if not getattr(route, "include_in_schema", False):
        # The document's own routes (a closure each app makes) draw nothing in it.
        return path, methods
    return path, methods, getattr(route, "endpoint", None), getattr(route, "response_model", None)


@dataclass
class DocumentKeeper:
    """A service's OpenAPI document, and what each checked answer was."""

    document: dict[str, Any]
    checked: set[tuple[str, str, int]] = field(default_factory=set)
    operations: list[Operation] = field(init=False)

    def __post_init__(self) -> None:
        self.operations = [
            Operation(method.upper(), template, _pattern(template), op["responses"])
            for template, ops in self.document["paths"].items()
            for method, op in ops.items()
        ]
        # A literal segment wins over a parameter (`/policies/current` over `/{version}`).
        self.operations.sort(key=lambda o: (o.template.count("{"), -len(o.template)))

    @classmethod
    def of(cls, app: FastAPI) -> DocumentKeeper:
        """The keeper of `app`'s document: drawn once for every app with the same routes
        (each test starts an app of its own, and drawing the document took 0.3 s)."""
        key = _routes_of(app)
        if key not in _DOCUMENTS:
            _DOCUMENTS[key] = app.openapi()
        return cls(_DOCUMENTS[key])

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation a request went to, if any."""
        return next(
            (o for o in self.operations if o.method == method and o.pattern.match(path)), None
        )

    def check(
        self,
        method: str,
        path: str,
        status: int,
        media_type: str,
        body: bytes,
        headers: Iterable[str] = (),
    ) -> None:
        """Raise AssertionError if the answer is not one the document declares.

        `headers` are the names of the headers the answer carried."""
        operation = self.operation(method, path)
        if operation is None:
            return  # Not an API operation (the old dashboard's address, an unknown path).
        where = f"{method} {operation.template} → {status}"
        declared = operation.responses.get(str(status))
        if declared is None:
            # 405 is the path's answer to a method it does not have, not an operation's.
            assert status == 405, f"{where}: status not declared"
            return
        named = {name.lower() for name in declared.get("headers", {})}
        undeclared = {h.lower() for h in headers} & DECLARED_HEADERS - named
        assert not undeclared, f"{where}: headers not declared: {sorted(undeclared)}"
        content = declared.get("content", {})
        if status == 204 or not body:
            return
        assert media_type in content, f"{where}: {media_type!r} not declared ({list(content)})"
        schema = content[media_type].get("schema")
        if media_type in JSON_TYPES:
            assert schema, f"{where}: no schema declared"
            errors = sorted(self._validator(schema).iter_errors(json.loads(body)), key=str)
            assert not errors, f"{where}: body does not match the document: " + "; ".join(
                f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in errors[:5]
            )
        self.checked.add((method, operation.template, status))

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = (id(self.document), json.dumps(schema, sort_keys=True))
        if key not in _VALIDATORS:
            # The document's components beside the schema, so its `$ref`s resolve.
            document = {**schema, "components": self.document["components"]}
            _VALIDATORS[key] = Draft202012Validator(document)
        return _VALIDATORS[key]

    async def response_hook(self, response: httpx.Response) -> None:
        """An httpx response hook: check every non-streamed answer."""
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type == "text/event-stream":
            return  # Never read a live stream here; its events are checked where consumed.
        body = await response.aread()
        self.check(
            response.request.method,
            response.request.url.path,
            response.status_code,
            media_type,
            body,
            response.headers.keys(),
        )


def keep_to_document(
    app: FastAPI,
) -> tuple[DocumentKeeper, dict[str, list[Callable[..., Coroutine[Any, Any, None]]]]]:
    """A keeper of `app`'s document and the `event_hooks` that check a client's answers."""
    keeper = DocumentKeeper.of(app)
    return keeper, {"response": [keeper.response_hook]}
