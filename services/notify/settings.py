"""The one settings class of notify (environment variables of the same name)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceSettings, production_secret

DEV_NOTIFY_SECRETS_KEY = "dev-only-notify-secrets-key-change-me-0123456789"


class NotifySettings(ServiceSettings):
    """notify: the event consumer, the delivery worker, the inbox and delivery API."""

    service_name: str = "notify"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/notify.db"
    notify_config_file: Path | None = None
    """JSON file of contacts, roles, routes, quiet hours and digests (docs/notify.md),
    imported at start for the tenants the database does not hold yet."""
    notify_secrets_key: SecretStr | None = SecretStr(DEV_NOTIFY_SECRETS_KEY)
    """Seals the credentials of contacts (robot and webhook URLs, signing secrets) in the
    database. Outside development it must be set, to a random string of 32 bytes or more;
    keep it with the database's backups (without it the credentials cannot be read)."""
    config_refresh_seconds: float = 2.0
    """How soon a change made through another notify process's API is seen here."""
    notify_templates_dir: Path | None = None
    """Per-tenant template overrides: `<dir>/<tenant>/<language>/<template>.j2`."""
    consumer_durable: str = "notify"
    consumer_max_deliver: int = 5
    consumer_batch_size: int = 100
    consumer_ack_wait_seconds: float = 30.0
    consumer_backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    consumer_wait_seconds: float = Field(default=0.5, gt=0)
    consumer_max_waits: int = Field(default=600, ge=1)
    """Waits before an event that failed is tried again (the last one repeats)."""
    sender_batch_size: int = 200
    sender_concurrency: int = 50
    sender_poll_seconds: float = 0.5
    """How often due deliveries (retries, quiet hours, digests) are looked for."""
    sender_lease_seconds: float = 60.0
    """How long a claimed delivery is held before another attempt (of this or another
    notify process) may take it. More than twice the send timeout
    (`DISPATCH_TIMEOUT_SECONDS` + `HTTP_TIMEOUT_SECONDS`), checked at start: a send
    starts only while two send timeouts remain of its lease and is cut off after one."""
    sender_round_seconds: float = 0.2
    """Sends that finish within a round are recorded together; slower ones carry over.
    A delivery planned during a round waits for the next claim, so a short round keeps
    that wait short; a round's record is a few statements whatever its size."""
    inbox_poll_seconds: float = 14.0
    """An idle inbox stream looks for new messages (and sends a keep-alive comment) this
    often; new messages wake it at once, from any notify process, through NATS."""
    http_timeout_seconds: float = 10.0
    """Timeout of webhook, robot and SMS requests and of each SMTP step."""
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "notify@workorders.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool = False
    sms_endpoint: str | None = None
    sms_api_key: SecretStr | None = None
    sms_template_id: str = "notify"
    database_pool_size: int = 10
    dispatch_url: str | None = None
    """dispatch's base URL: an SMS to a resident gets their phone from it when sent
    (`GET /v1/residents/{ref}/contact`); without it such an SMS fails and is retried."""
    notify_dispatch_token: SecretStr | None = None
    """notify's bearer token for dispatch (role `notifier`) where an identity provider
    signs tokens (`JWT_JWKS_URL`); with `JWT_SECRET` notify mints its own per tenant."""
    dispatch_timeout_seconds: float = 5.0

    @property
    def send_timeout_seconds(self) -> float:
        """The longest one send may take: a resident's phone from dispatch, then the channel."""
        return self.dispatch_timeout_seconds + self.http_timeout_seconds

    @model_validator(mode="after")
    def _lease_outlasts_sends(self) -> NotifySettings:
        # A lease that can run out while its send is still going lets another process
        # claim the row and send the message a second time.
        if self.sender_lease_seconds <= 2 * self.send_timeout_seconds:
            raise ValueError(
                f"SENDER_LEASE_SECONDS ({self.sender_lease_seconds:g}) must be more than twice "
                f"the send timeout, DISPATCH_TIMEOUT_SECONDS + HTTP_TIMEOUT_SECONDS "
                f"({self.send_timeout_seconds:g})"
            )
        return self

    def secrets_key(self) -> str:
        """The key that seals contacts' credentials; `ValueError` when it may not be used here.

        The development key is in this repository: only ENVIRONMENT=development accepts it.
        """
        return production_secret(
            "NOTIFY_SECRETS_KEY",
            self.notify_secrets_key,
            DEV_NOTIFY_SECRETS_KEY,
            self.environment,
        )
