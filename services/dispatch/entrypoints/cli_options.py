"""Options shared by dispatch's operator commands (`wo dispatch ...`, `wo relay ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseOption = Annotated[
    str | None,
    typer.Option(help="dispatch's database (default: DATABASE_URL or the embedded SQLite)."),
]
"""`--database-url`: dispatch's database, else `DATABASE_URL`, else the embedded SQLite."""
