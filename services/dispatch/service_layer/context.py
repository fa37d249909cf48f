"""What every command handler receives and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.workorder import Actor
from shared.auth import Principal


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who sends a command, when, and with which delivery guarantees."""

    principal: Principal
    now: datetime
    correlation_id: str
    idempotency_key: str | None = None
    expected_version: int | None = None

    @property
    def actor(self) -> Actor:
        """The domain's view of the caller."""
        return Actor(subject=self.principal.subject, role=self.principal.role)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a command: HTTP status, the representation, and whether it was a replay."""

    status_code: int
    body: dict[str, Any]
    version: int
    replayed: bool = False
