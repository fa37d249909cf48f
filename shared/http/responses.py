"""JSON answers serialised with orjson, for every service's routes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson: the body is already the wire's shape, so
    FastAPI's re-validation and encoding are skipped (the ingest path is hot)."""
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )
