"""The settings base every service's one settings class derives from.

Only configuration differs between a laptop and production: every value here is an
environment variable of the same name (upper-case), with embedded defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import TokenVerifier

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"


class ServiceSettings(BaseSettings):
    """Settings shared by all services; each service subclasses it once."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None, frozen=True)

    service_name: str = "service"
    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"

    instance_id: str | None = None
    """Given by a supervisor (`wo up`) to tell this process from any other on its port;
    `/readyz` answers with it."""

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    max_body_bytes: int = 64 * 1024

    database_url: str = "sqlite+aiosqlite:///./var/service.db"

    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_replicas: int = 1
    events_max_age_days: int = 0
    """0 keeps events forever (retention by limits, kept for years)."""

    jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "workorders-dev"
    jwt_audience: str = "workorders"

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> ServiceSettings:
        # The development secret is in this repository: anyone could mint tokens with it.
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if (
            self.environment == "production"
            and not self.jwt_jwks_url
            and secret in ("", DEV_JWT_SECRET)
        ):
            raise ValueError(
                "ENVIRONMENT=production needs JWT_SECRET (not the development one) or JWT_JWKS_URL"
            )
        return self

    def resolved_log_format(self) -> Literal["console", "json"]:
        """JSON in production, readable console lines in development, unless set."""
        if self.log_format != "auto":
            return self.log_format
        return "json" if self.environment == "production" else "console"

    def token_verifier(self) -> TokenVerifier:
        """The verifier of bearer tokens these settings describe (secret or JWKS URL)."""
        return TokenVerifier(
            secret=self.jwt_secret.get_secret_value() if self.jwt_secret else None,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
        )
