"""Fixtures shared by every test: a real nats-server on a free port, real databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.bus_users import authorization, new_passwords, url_with_user
from shared.logging import configure_logging
from tests import databases
from tests.hung_tasks import (  # noqa: F401 (hooks: a hung test's asyncio tasks are reported)
    pytest_addoption,
    pytest_configure,
    pytest_runtest_protocol,
)
from wo.processes import NatsServer

# The services' own logging set-up (as `python -m services.<name>` makes it), so tests
# log as the services do instead of structlog's defaults.
configure_logging("tests", "INFO", "console")

# The PostgreSQL of this run is chosen once, before the fixtures' parameters are built.
DATABASES = databases.choose(os.environ)
databases.apply(DATABASES)
BACKENDS = ["sqlite"] + (["postgresql"] if DATABASES.url else [])


def pytest_report_header() -> str:
    """Say once per run where PostgreSQL came from, or why there is none."""
    return DATABASES.how


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on a free loopback port, stopped after the test."""
    server = NatsServer(tmp_path / "jetstream")
    server.start(log_file=tmp_path / "nats.log")
    yield server
    server.stop()


ADMIN = "test-admin"


class SecuredNats:
    """A nats-server that admits only the bus users, each within its permissions."""

    def __init__(self, server: NatsServer, passwords: dict[str, str]) -> None:
        self.server = server
        self.passwords = passwords

    def url(self, user: str) -> str:
        """The server's URL with `user`'s credentials in it."""
        return url_with_user(self.server.url, user, self.passwords[user])


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[SecuredNats]:
    """A fresh nats-server with JetStream and the bus users' authorization (`shared.bus_users`)."""
    passwords = new_passwords()
    users = authorization(passwords)
    # A test's own observer may do anything (no permissions: all allowed).
    passwords[ADMIN] = new_passwords((ADMIN,))[ADMIN]
    users["users"].append({"user": ADMIN, "password": passwords[ADMIN]})
    server = NatsServer(tmp_path / "jetstream-secured", authorization=users)
    server.start(log_file=tmp_path / "nats-secured.log")
    yield SecuredNats(server, passwords)
    server.stop()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file, and (with TEST_DATABASE_URL) a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with FreshPostgresDatabase() as url:
        yield url


class FreshPostgresDatabase:
    """Create a uniquely named database next to TEST_DATABASE_URL's and drop it afterwards."""

    def __init__(self) -> None:
        base = make_url(os.environ["TEST_DATABASE_URL"])
        self.name = f"wo_test_{uuid.uuid4().hex[:12]}"
        self.admin_url = base
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    async def __aenter__(self) -> str:
        admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        await admin.dispose()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await admin.dispose()
