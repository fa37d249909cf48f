"""The one settings class of dispatch (environment variables of the same name)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    """dispatch: HTTP API, event store, outbox relay."""

    service_name: str = "dispatch"
    http_port: int = 8000
    database_url: str = "sqlite+aiosqlite:///./var/dispatch.db"
    http_workers: int = 1
    """uvicorn worker processes; each runs its own group committer and relay."""
    migrate_on_start: bool = True
    """Run Alembic migrations to head when the service starts."""
    relay_enabled: bool = True
    """Run the outbox relay inside this process (turn off to run it as its own process)."""
    sla_scheduler_enabled: bool = True
    """Fire SLA warnings, breaches and escalations from this process."""
    relay_batch_size: int = 500
    relay_poll_seconds: float = 1.0
    """Fallback poll of the outbox; commits in this process wake the relay at once."""
    relay_publish_timeout_seconds: float = 5.0
    relay_stream_check_seconds: float = 1.0
    """How often, at most, the relay checks that EVENTS is the stream it published to."""
    relay_stream_count_seconds: float = 30.0
    """How often the relay counts its events in EVENTS against the store's published ones."""
    database_pool_size: int = 10
    group_commit_max_batch: int = 256
    """Most commands committed together in one transaction by the group committer."""
    staff_cache_seconds: float = 2.0
    """How long a project's dispatch rules, staff and roster are reused by this process;
    changes made through another dispatch process take effect within this time."""

    personal_data_access_log_retention_days: int = Field(default=1095, ge=1)
    """How long the access log of residents' personal data keeps an entry: three years,
    the period PIPL (Art. 55-56) asks a processor's impact assessments and processing
    records to be kept, so a resident's or a regulator's question about the last three
    years can be answered."""
    personal_data_access_log_prune_seconds: float = Field(default=3600.0, gt=0)
    """How often the background loop deletes access-log entries past their retention."""

    idempotency_key_days: int = Field(default=30, ge=1)
    """How long a command's `Idempotency-Key` answers its first result; after that the
    stored result is deleted and the same key is a new command."""
    idempotency_key_prune_seconds: float = Field(default=3600.0, gt=0)
    """How often the `idempotency-key-retention` loop deletes the results past it."""

    personal_data_retention_days: int = Field(default=1095, ge=1)
    """How long a resident's personal data is kept after the latest of their orders ended
    (closed or cancelled, none open): three years, the limitation period of civil claims
    (民法典 Art. 188) over the work done, after which it is erased (reason `retention`)."""
    personal_data_retention_check_seconds: float = Field(default=3600.0, gt=0)
    """How often the background loop erases the residents due."""
    notify_url: str = "http://127.0.0.1:8001"
    """notify's API: a personal-data export lists the messages sent to the resident."""
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long an export waits for notify before answering `notify_unavailable`."""

    def secret_problem(self) -> str | None:
        """Why dispatch may not start with these secrets (the JWT's, then the privacy master
        key its residents' index is keyed from), or None when it may."""
        return super().secret_problem() or self.privacy_problem()
