"""The local stack's master key is found beside its SQLite databases, and only there."""

from __future__ import annotations

from pathlib import Path

from shared.privacy.local_key import FILE_NAME, key_beside


def test_a_sqlite_database_with_the_key_file_beside_it_gives_that_key(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("stack-key\n", encoding="utf-8")

    assert key_beside(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") == "stack-key"


def test_other_databases_give_no_key(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("stack-key\n", encoding="utf-8")

    assert key_beside(f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'dispatch.db'}") is None
    assert key_beside("sqlite+aiosqlite:///:memory:") is None
    assert key_beside(f"postgresql+asyncpg://u@{tmp_path.name}/dispatch") is None
    assert key_beside("not a url") is None
