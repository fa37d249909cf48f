"""Serialising handler outcomes: the status of each effect, ETag, Location, replay marker."""

from __future__ import annotations

from fastapi import Response

from services.dispatch.service_layer.context import Effect, Outcome
from shared.http.responses import json_response

STATUS_OF: dict[Effect, int] = {
    Effect.CREATED: 201,
    Effect.APPLIED: 200,
    Effect.UNCHANGED: 200,
}
"""The one place a command's effect becomes an HTTP status (a replay answers as the first)."""


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
    return json_response(outcome.body, STATUS_OF[outcome.effect], headers)
