"""Liveness and readiness."""

from __future__ import annotations

from shared.http.health import health_router

router = health_router(
    "dispatch",
    "Ready when the database answers; NATS being down only delays publishing (the outbox holds it).",
)
