"""Liveness and readiness."""

from __future__ import annotations

from shared.http.health import health_router

router = health_router(
    "notify",
    "Ready when the database answers; NATS being down only delays consuming and publishing.",
)
