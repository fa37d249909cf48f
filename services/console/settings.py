"""The one settings class of the console (environment variables of the same name)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    """console: server-rendered pages over dispatch's, notify's and reporting's HTTP APIs."""

    service_name: str = "console"
    http_port: int = 8003
    dispatch_url: str = "http://127.0.0.1:8000"
    """dispatch's HTTP API: projects, work orders, queue, suggestions, staff (`wo up` sets it)."""
    notify_url: str = "http://127.0.0.1:8001"
    """notify's HTTP API: who hears what (contacts, routes) and the messages sent (`wo up`
    sets it)."""
    reporting_url: str = "http://127.0.0.1:8002"
    """reporting's HTTP API: the KPIs, their trends, the orders behind them and the exports
    (`wo up` sets it)."""
    upstream_timeout_seconds: float = 10.0
    """How long a call to dispatch, notify or reporting may take before the page says it is unavailable."""
    session_idle_minutes: int = 8 * 60
    """A session unused this long is forgotten: its holder signs in again."""
    max_sessions: int = 10_000
    """Sessions kept in memory at most; beyond it the least recently used is forgotten."""
    refresh_seconds: float = 5.0
    """How often the live parts of a page (queues, lists) ask the console for news."""
    dev_tenant: str = "demo"
    """The tenant whose people the development sign-in lists (development only)."""

    def start_problem(self) -> str | None:
        """Why the console may not start with these settings, or None when it may.

        Production sign-in is OpenID Connect, which the console does not have yet; the
        development sign-in mints tokens with the shared secret and must never run there.
        """
        if self.environment != "development":
            return (
                f"ENVIRONMENT={self.environment}: the console has no production sign-in yet "
                "(OpenID Connect is not configured); it runs only with ENVIRONMENT=development, "
                "where it offers the development sign-in"
            )
        return None
