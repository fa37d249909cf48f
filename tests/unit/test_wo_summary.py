"""`wo up`'s summary: a service left on SQLite beside a database server is named."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from wo.layout import StackPaths
from wo.stack import SignalWatch, Stack
from wo.up import print_summary

POSTGRES = "postgresql+asyncpg://dispatch:***@db.example.internal:5432/dispatch"


def description(tmp_path: Path, databases: dict[str, str]) -> dict[str, Any]:
    return {
        "nats": {"url": "nats://127.0.0.1:4222", "embedded": False, "pid": None, "log": None},
        "services": {
            name: {
                "url": f"http://127.0.0.1:{8000 + i}",
                "pid": 100 + i,
                "log": str(tmp_path / "log" / f"{name}.log"),
                "database_url": url,
            }
            for i, (name, url) in enumerate(databases.items())
        },
        "projects": ["sunny-garden"],
    }


def summary(tmp_path: Path, databases: dict[str, str]) -> str:
    output = io.StringIO()
    console = Console(file=output, width=200)
    stack = Stack(StackPaths(tmp_path), {}, console, SignalWatch())
    print_summary(console, stack, description(tmp_path, databases))
    return output.getvalue()


def sqlite(name: str, tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}.db"


def test_services_left_on_sqlite_beside_a_database_server_are_named_with_their_variable(
    tmp_path: Path,
) -> None:
    text = summary(
        tmp_path,
        {
            "dispatch": POSTGRES,
            "notify": sqlite("notify", tmp_path),
            "reporting": sqlite("reporting", tmp_path),
        },
    )
    assert "notify, reporting still on SQLite" in text
    assert "set NOTIFY_DATABASE_URL, REPORTING_DATABASE_URL to move them too" in text


def test_nothing_is_said_when_every_service_uses_the_same_kind_of_database(
    tmp_path: Path,
) -> None:
    on_sqlite = {name: sqlite(name, tmp_path) for name in ("dispatch", "notify", "reporting")}
    on_postgres = dict.fromkeys(("dispatch", "notify", "reporting"), POSTGRES)
    assert "still on SQLite" not in summary(tmp_path, on_sqlite)
    assert "still on SQLite" not in summary(tmp_path, on_postgres)
