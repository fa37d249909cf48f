"""JSON answers serialised with orjson, and what each operation declares it answers with.

Handlers on hot paths write their bodies with orjson (`json_response`) and skip FastAPI's
response-model validation; the other helpers only *describe* those bodies for the
OpenAPI documents (a pydantic model as the 2xx schema, the headers set beside it), so the
document is truthful without any body being validated or serialised twice. Tests hold the
descriptions to the real answers (tests/openapi_support.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, get_type_hints

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, create_model


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson: the body is already the wire's shape, so
    FastAPI's re-validation and encoding are skipped (the ingest path is hot)."""
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


Responses = dict[int | str, dict[str, Any]]
"""The `responses=` argument of a FastAPI route."""

ETAG = {
    "description": 'The version written or read, as a strong ETag (e.g. `"3"`); send it '
    "back as `If-Match`.",
    "schema": {"type": "string"},
}
LOCATION = {"description": "Where the new resource is read.", "schema": {"type": "string"}}
IDEMPOTENT_REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the "
    "same `Idempotency-Key`; absent otherwise.",
    "schema": {"type": "string", "enum": ["true"]},
}
CONTENT_DISPOSITION = {
    "description": "`attachment` with the file's name.",
    "schema": {"type": "string"},
}


class Body(BaseModel):
    """A response body: exactly these fields (an unknown one is a description gone stale)."""

    model_config = ConfigDict(extra="forbid")


def body_of(
    name: str,
    record: type[Any],
    doc: str,
    *,
    base: type[BaseModel] = Body,
    leave_out: tuple[str, ...] = (),
) -> type[BaseModel]:
    """A response model whose fields are those of the dataclass `record` (but `leave_out`),
    each always present, beside the fields of `base`.

    For bodies that are a record as the service keeps it: the description follows the
    record, so a field added to it cannot be missing from the document.
    """
    hints = get_type_hints(record)
    shown = {f.name: (hints[f.name], ...) for f in fields(record) if f.name not in leave_out}
    model: type[BaseModel] = create_model(name, __base__=base, __doc__=doc, **shown)  # type: ignore[call-overload]
    return model


def answers(
    model: type[BaseModel],
    description: str,
    status: int = 200,
    *,
    headers: Mapping[str, Mapping[str, Any]] | None = None,
    example: Any = None,
) -> Responses:
    """A JSON success response whose body is `model`, with the headers it carries."""
    declared: dict[str, Any] = {"model": model, "description": description}
    if headers:
        declared["headers"] = dict(headers)
    if example is not None:
        declared["content"] = {"application/json": {"example": example}}
    return {status: declared}


def answers_as(
    description: str, content: Mapping[str, Mapping[str, Any]], status: int = 200
) -> Responses:
    """A non-JSON success response (CSV, XLSX, an event stream): its media types."""
    return {status: {"description": description, "content": dict(content)}}
