"""The report the peers accept: dispatch's report body, validated by pydantic as FastAPI does."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Location(BaseModel):
    """Where the repair is."""

    building: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=100)


class Reporter(BaseModel):
    """Who reported it."""

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=30)


class Report(BaseModel):
    """A work order reported (the same fields as dispatch's `ReportWorkOrder`'s body)."""

    project: str = Field(min_length=1, max_length=64)
    kind: Literal["repair", "complaint", "suggestion", "cleaning"]
    category: str = Field(min_length=1, max_length=64)
    urgency: Literal["normal", "urgent"]
    location: Location
    reporter: Reporter
    channel: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=2000)

    def fields(self) -> dict[str, Any]:
        """Its fields as JSON-ready values."""
        return self.model_dump(mode="json")
