"""The one settings class of reporting (environment variables of the same name)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, model_validator

from services.reporting.domain.lease import check_timing
from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """reporting: the projector, the KPI API and stream (the dashboard is the console's)."""

    service_name: str = "reporting"
    http_port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/reporting.db"
    database_pool_size: int = 10
    migrate_on_start: bool = True
    """Run Alembic migrations to head when the service starts."""
    projector_enabled: bool = True
    """Run the projector (durable consumer `reporting` on EVENTS) in this process: while it
    holds the projector's lease; otherwise it stands by and takes over when the holder dies."""
    projector_lease_renew_seconds: float = 2.0
    """How often the lease's holder renews it, and a standby asks for it."""
    projector_lease_expiry_seconds: float = 10.0
    """How long a lease lasts unrenewed: a standby takes over this long (at most one renew
    interval more) after its holder's last renewal. At least twice the renew interval."""
    consumer_durable: str = "reporting"
    consumer_batch_size: int = 1000
    """Events fetched and committed per transaction: larger batches write each roll-up row
    and index page once for more events (a fetch returns what is there, never waits to fill)."""
    consumer_max_deliver: int = 5
    """Attempts before an event the projector cannot commit becomes a dead letter."""
    consumer_ack_wait_seconds: float = 30.0
    kpi_publish_enabled: bool = True
    """Publish KPI changes to `kpi.<tenant>.<project>.<kpi>` (stream KPI)."""
    sse_heartbeat_seconds: float = 15.0
    """A comment line on idle SSE connections, so proxies keep them open."""
    console_url: AnyHttpUrl | None = None
    """The staff console's address (`wo up` sets it): `/dashboard/`, where reporting's own
    dashboard was, sends people to its quality page. Unset, it says where the dashboard is."""

    @model_validator(mode="after")
    def _lease_timing(self) -> ReportingSettings:
        try:
            check_timing(self.projector_lease_renew_seconds, self.projector_lease_expiry_seconds)
        except ValueError as exc:
            raise ValueError(
                f"PROJECTOR_LEASE_EXPIRY_SECONDS and PROJECTOR_LEASE_RENEW_SECONDS: {exc}"
            ) from None
        return self
