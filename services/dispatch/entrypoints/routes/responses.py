"""Serialising handler outcomes: ETag, Location, replay marker."""

from __future__ import annotations

from fastapi import Response

from services.dispatch.service_layer.context import Outcome
from shared.http.responses import json_response


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
