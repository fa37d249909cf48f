"""bench/support.py's pure parts: the database URL a benchmark's services get."""

from __future__ import annotations

import pytest

from bench.support import services_driver


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://bench:secret@127.0.0.1:5432/postgres",
        "postgresql+psycopg://bench:secret@127.0.0.1:5432/postgres",
        "postgresql+asyncpg://bench:secret@127.0.0.1:5432/postgres",
    ],
)
def test_a_fresh_postgresql_database_is_reached_through_the_services_driver(given: str) -> None:
    assert services_driver(given) == "postgresql+asyncpg://bench:secret@127.0.0.1:5432/postgres"
