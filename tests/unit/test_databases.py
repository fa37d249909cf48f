"""Where the tests' PostgreSQL comes from: named, a container, or none (and why)."""

from __future__ import annotations

from tests.databases import apply, choose


def _never() -> str:
    raise AssertionError("no container may start here")


def test_a_named_server_wins_and_no_engine_is_asked() -> None:
    def asked() -> bool:
        raise AssertionError("the engine is not asked when a server is named")

    choice = choose({"TEST_DATABASE_URL": "postgresql+asyncpg://ci/test"}, asked, _never)
    assert choice.url == "postgresql+asyncpg://ci/test"
    assert "TEST_DATABASE_URL" in choice.how


def test_a_docker_engine_gets_a_container_for_the_run() -> None:
    started: list[str] = []

    def start() -> str:
        started.append("postgres")
        return "postgresql+asyncpg://test:test@127.0.0.1:49153/test"

    environ: dict[str, str] = {}
    choice = choose(environ, lambda: True, start)
    apply(choice, environ)
    assert started == ["postgres"]
    assert environ["TEST_DATABASE_URL"] == choice.url
    assert "testcontainers" in choice.how


def test_without_server_or_engine_sqlite_alone_and_the_reason_is_said() -> None:
    environ: dict[str, str] = {}
    choice = choose(environ, lambda: False, _never)
    apply(choice, environ)
    assert choice.url is None and environ == {}
    assert "no Docker engine answered" in choice.how
