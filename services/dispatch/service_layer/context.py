"""What every command handler receives and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.workorder import Actor
from shared.auth import Principal
from shared.errors import PreconditionFailed


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who sends a command, when, and with which delivery guarantees."""

    principal: Principal
    now: datetime
    correlation_id: str
    idempotency_key: str | None = None
    expected_version: int | None = None

    def ensure_current(self, version: int) -> None:
        """Refuse the command if the caller's `If-Match` names another version (412)."""
        if self.expected_version is not None and self.expected_version != version:
            raise PreconditionFailed(
                f"work order is at version {version}, not {self.expected_version}; "
                "reload and retry",
                current_version=version,
            )

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
