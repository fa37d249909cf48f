"""The settings base every service's one settings class derives from.

Only configuration differs between a laptop and production: every value here is an
environment variable of the same name (upper-case), with embedded defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import TokenVerifier

if TYPE_CHECKING:
    from shared.privacy.derivation import PrivacyKeys
    from shared.privacy.wrapping import LocalKeyWrapper

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
MIN_SECRET_BYTES = 32
"""HS256 keys shorter than the hash (RFC 7518 section 3.2) are refused outside development."""
DEV_PRIVACY_MASTER_KEY = "dev-only-privacy-master-key-change-me-0123456789"
"""In this repository, so it protects nothing: accepted only with ENVIRONMENT=development
(`wo up` generates a key of its own under its var directory instead)."""


def production_secret(
    name: str,
    value: SecretStr | None,
    development_value: str,
    environment: str,
    *,
    alternative: str = "",
) -> str:
    """The secret `value` of setting `name`, if this environment may use it; else `ValueError`.

    The one rule every secret setting follows (JWT_SECRET, PRIVACY_MASTER_KEY,
    NOTIFY_SECRETS_KEY): a development value is in this repository, so anyone could use
    it; only ENVIRONMENT=development accepts it (or any other value). Anywhere else the
    setting must be another secret of at least `MIN_SECRET_BYTES`. `alternative` tells a
    refused operator what else would do (e.g. a JWKS URL instead of a JWT secret). The
    messages name the setting, never its value.
    """
    secret = value.get_secret_value() if value else ""
    if environment == "development" and secret:
        return secret
    if not secret or secret == development_value:
        raise ValueError(
            f"ENVIRONMENT={environment} refuses the development {name}: set it to a random "
            f"secret of at least {MIN_SECRET_BYTES} bytes{alternative}"
        )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{name} is {len(secret.encode())} bytes; "
            f"ENVIRONMENT={environment} needs at least {MIN_SECRET_BYTES}"
        )
    return secret


class ServiceSettings(BaseSettings):
    """Settings shared by all services; each service subclasses it once."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None, frozen=True)

    service_name: str = "service"
    environment: Literal["development", "production"] = "production"
    """Unset means production: only an explicit `development` accepts the development secret."""
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
    outbox_keep_days: int = Field(default=7, ge=1)
    """How long dispatch's and notify's outboxes keep a row once it is published."""
    outbox_prune_seconds: float = Field(default=600.0, gt=0)
    """How often the `outbox-retention` loop deletes published rows past `outbox_keep_days`."""

    jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "workorders-dev"
    jwt_audience: str = "workorders"

    privacy_master_key: SecretStr | None = SecretStr(DEV_PRIVACY_MASTER_KEY)
    """The one secret every privacy key is derived from (the residents' blind index, their
    pseudonymous references, the wrapping of their data keys): a random string of at least
    `MIN_SECRET_BYTES`. Losing it loses every resident's personal data; leaking it with a
    copy of the database exposes them. Never logged, never answered."""
    privacy_retired_master_keys: SecretStr | None = None
    """Master secrets rotated out, comma-separated: data keys they wrapped still unwrap
    until re-wrapped under `privacy_master_key`, then they can be dropped."""

    def secret_problem(self) -> str | None:
        """Why these settings may not verify tokens, or None when they may.

        The development secret is in this repository, so anyone could mint tokens with it:
        it is accepted only where ENVIRONMENT explicitly says development (`wo up` does).
        Anywhere else (ENVIRONMENT unset is production) the HS256 secret must be another
        one of at least `MIN_SECRET_BYTES`, unless tokens are checked against a JWKS URL.
        """
        if self.environment == "development" or self.jwt_jwks_url:
            return None
        try:
            production_secret(
                "JWT_SECRET",
                self.jwt_secret,
                DEV_JWT_SECRET,
                self.environment,
                alternative=", or set JWT_JWKS_URL (or ENVIRONMENT=development on a developer's "
                "machine)",
            )
        except ValueError as exc:
            return str(exc)
        return None

    def resolved_log_format(self) -> Literal["console", "json"]:
        """JSON in production, readable console lines in development, unless set."""
        if self.log_format != "auto":
            return self.log_format
        return "json" if self.environment == "production" else "console"

    def token_verifier(self) -> TokenVerifier:
        """The verifier of bearer tokens these settings describe (secret or JWKS URL).

        Raises `ValueError` with `secret_problem()` when the secret may not be used here.
        """
        problem = self.secret_problem()
        if problem is not None:
            raise ValueError(problem)
        return TokenVerifier(
            secret=self.jwt_secret.get_secret_value() if self.jwt_secret else None,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
        )

    def privacy_problem(self) -> str | None:
        """Why these settings may not protect personal data, or None when they may.

        As for the JWT secret: the development master key is accepted only where
        ENVIRONMENT explicitly says development; anywhere else `PRIVACY_MASTER_KEY` must be
        another secret of at least `MIN_SECRET_BYTES`. The message names the setting,
        never its value.
        """
        try:
            self._privacy_master_key()
        except ValueError as exc:
            return str(exc)
        return None

    def _privacy_master_key(self) -> bytes:
        return production_secret(
            "PRIVACY_MASTER_KEY", self.privacy_master_key, DEV_PRIVACY_MASTER_KEY, self.environment
        ).encode()

    def privacy_keys(self) -> PrivacyKeys:
        """The keys derived from `PRIVACY_MASTER_KEY`; `ValueError` with `privacy_problem()`
        when it may not be used here."""
        from shared.privacy.derivation import privacy_keys  # cryptography: only when used

        return privacy_keys(self._privacy_master_key())

    def key_wrapper(self) -> LocalKeyWrapper:
        """What wraps residents' data keys: the current master key's wrapping key, and the
        retired ones' for rows not re-wrapped yet."""
        from shared.privacy.derivation import privacy_keys
        from shared.privacy.wrapping import LocalKeyWrapper

        retired = self.privacy_retired_master_keys
        secrets = retired.get_secret_value().split(",") if retired else []
        return LocalKeyWrapper(
            self.privacy_keys(), [privacy_keys(s.strip().encode()) for s in secrets if s.strip()]
        )
