"""Serialising handler outcomes: orjson bodies, ETag, Location, replay marker."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from services.dispatch.service_layer.context import Outcome


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (the ingest path is hot; skip re-validation)."""
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


def etag(version: int) -> str:
    """The strong ETag of a stream version; send it back as `If-Match`."""
    return f'"{version}"'


def outcome_response(outcome: Outcome, location: str | None = None) -> Response:
    """The HTTP answer to a command."""
    headers = {"ETag": etag(outcome.version)}
    if location is not None:
        headers["Location"] = location
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(outcome.body, outcome.status_code, headers)
