"""The one settings class of the console (environment variables of the same name)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import SecretStr

from services.console.domain.oidc import CALLBACK_PATH, secure_url
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

    oidc_issuer: str | None = None
    """The identity provider's issuer URL (OpenID Connect); its discovery document is at
    `<issuer>/.well-known/openid-configuration`. Production signs in with it only."""
    oidc_client_id: str | None = None
    """The console's client id at the identity provider (the ID token's audience)."""
    oidc_client_secret: SecretStr | None = None
    """The client secret of a confidential client; unset, the console is a public client
    whose code exchange PKCE alone protects."""
    oidc_redirect_url: str | None = None
    """The console's callback as registered at the provider: `https://<console>/sign-in/callback`."""
    oidc_scopes: str = "openid profile"
    """The scopes asked for, space-separated; `openid` is required."""

    @property
    def oidc_sign_in(self) -> bool:
        """Whether people sign in with OpenID Connect (everywhere but development)."""
        return self.environment != "development"

    def start_problem(self) -> str | None:
        """Why the console may not start with these settings, or None when it may.

        Development offers the development sign-in, which mints tokens with the shared
        secret; anywhere else the only sign-in is OpenID Connect, which needs its settings.
        """
        if not self.oidc_sign_in:
            return None
        names = ("oidc_issuer", "oidc_client_id", "oidc_redirect_url")
        missing = [name.upper() for name in names if not getattr(self, name)]
        if missing:
            return (
                f"ENVIRONMENT={self.environment} signs in with OpenID Connect only, and "
                f"OpenID Connect is not configured: set {', '.join(missing)} (see "
                "docs/operations.md), or ENVIRONMENT=development on a developer's machine "
                "for the development sign-in"
            )
        if "openid" not in self.oidc_scopes.split():
            return f"OIDC_SCOPES={self.oidc_scopes!r} must include openid"
        urls = {"OIDC_ISSUER": self.oidc_issuer, "OIDC_REDIRECT_URL": self.oidc_redirect_url}
        for name, url in urls.items():
            if not secure_url(url or ""):
                return f"{name}={url} must be an https URL (http only on a loopback host)"
        if not urlsplit(self.oidc_redirect_url or "").path.endswith(CALLBACK_PATH):
            return f"OIDC_REDIRECT_URL={self.oidc_redirect_url} must end with {CALLBACK_PATH}"
        return None
