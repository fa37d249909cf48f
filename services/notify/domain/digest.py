"""Digests (汇总): a storm of alerts to one recipient becomes one message per window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DigestPolicy(BaseModel):
    """More than `threshold` alerts to one recipient and channel within a window are digested."""

    model_config = ConfigDict(frozen=True)

    threshold: int = Field(default=5, ge=1)
    window_seconds: int = Field(default=300, ge=10)

    def window_start(self, at: datetime) -> datetime:
        """The start of the fixed window `at` falls in (windows are aligned to the epoch)."""
        offset = int((at - _EPOCH).total_seconds()) // self.window_seconds
        return _EPOCH + timedelta(seconds=offset * self.window_seconds)

    def window_end(self, at: datetime) -> datetime:
        """When the window of `at` closes: its digest is sent then."""
        return self.window_start(at) + timedelta(seconds=self.window_seconds)

    def digests(self, alerts_already_in_window: int) -> bool:
        """Whether the next alert goes into the digest rather than on its own."""
        return alerts_already_in_window >= self.threshold


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One alert listed in a digest."""

    delivery_id: str
    subject: str
    text: str
    created_at: datetime
