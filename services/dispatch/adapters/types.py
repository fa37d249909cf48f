"""Column types that behave the same on SQLite and PostgreSQL (they live in `shared.sql`)."""

from __future__ import annotations

from shared.sql import BigIntPK, UTCDateTime

__all__ = ["BigIntPK", "UTCDateTime"]
