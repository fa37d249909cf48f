"""What every command handler receives and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
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
        """Refuse the command if the caller's `If-Match` names another version."""
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


class Effect(StrEnum):
    """What a command did to its stream; the entrypoint chooses how to say it."""

    CREATED = "created"
    """The command began a new stream (a work order reported, a project registered)."""
    APPLIED = "applied"
    """The command appended its events to a stream that already existed."""
    UNCHANGED = "unchanged"
    """The command was accepted but had nothing to move, so nothing was appended."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a command: what it did, the representation, and whether it was a replay."""

    effect: Effect
    body: dict[str, Any]
    version: int
    replayed: bool = False
