"""dispatch's column types: the shared ones (`shared.sqltypes`), under their old name."""

from __future__ import annotations

from shared.sqltypes import BigIntPK, UTCDateTime

__all__ = ["BigIntPK", "UTCDateTime"]
