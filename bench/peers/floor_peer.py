"""The framework's floor: FastAPI validating the report and answering 201, storing nothing.

What any FastAPI write service on this machine pays per request before its storage and
its own rules: uvicorn's protocol, routing, the body's pydantic validation, the JSON
answer. Every other peer's CPU per request is this plus its own work.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from bench.peers.report import Report


def create_app() -> FastAPI:
    """The peer's app (uvicorn factory); it keeps nothing."""
    app = FastAPI()

    @app.post("/v1/work-orders", status_code=201)
    async def report(body: Report) -> dict[str, str]:
        return {"id": str(uuid.uuid4()), "project": body.project}

    return app
