"""Each channel's retry policy: how often and how soon a failed send is tried again."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class RetryPolicy(BaseModel):
    """`max_attempts` sends in all, waiting `backoff_seconds[i]` after the i-th failure."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed sends, or None once it is dead."""
        if attempts >= self.max_attempts:
            return None
        if not self.backoff_seconds:
            return now
        delay = self.backoff_seconds[min(attempts, len(self.backoff_seconds)) - 1]
        return now + timedelta(seconds=delay)
