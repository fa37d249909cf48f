"""Helpers of the services' operator commands (mounted in `wo`): one-line failures,
quiet connections and the Rich progress bar with events/s and ETA."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from nats.aio.client import Client
from nats.errors import Error as NatsError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine
from shared.logging import redact_credentials
from shared.nats import connect

NatsUrlOption = Annotated[
    str | None, typer.Option(help="NATS server(s), comma-separated (default: NATS_URL).")
]
"""The `--nats-url` of the services' operator commands that talk to the bus."""


class CliFailure(Exception):
    """A problem the operator can fix; printed as one line, exit code 1."""


class RateColumn(ProgressColumn):
    """Events per second, as Rich measures the task's speed."""

    def render(self, task: Task) -> Text:
        """The column's text for `task`."""
        speed = task.finished_speed or task.speed
        return Text("-- events/s" if speed is None else f"{speed:,.0f} events/s")


def event_progress(console: Console) -> Progress:
    """A progress bar of events: count, events/s, ETA and elapsed time."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        console=console,
    )


def engine_for(url: str) -> AsyncEngine:
    """An engine for `url`, or `CliFailure` naming what is wrong with it."""
    try:
        return create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise CliFailure(f"invalid database URL {url!r}: {first_line(exc)}") from None


async def connect_quietly(url: str, name: str, wait_seconds: float) -> Client:
    """Connect to NATS within `wait_seconds`, or `CliFailure`."""

    # Each failed connection attempt, and the final close, would log a line between
    # the progress bar and the summary; the outcome is reported once instead.
    async def quiet_error(_exc: Exception) -> None:
        return None

    async def quiet() -> None:
        return None

    shown = redact_credentials(url)  # the URL may hold a NATS password
    try:
        async with asyncio.timeout(wait_seconds):
            return await connect(url, name, error_cb=quiet_error, disconnected_cb=quiet)
    except TimeoutError:
        raise CliFailure(f"cannot reach NATS at {shown} within {wait_seconds:g} s") from None
    except (NatsError, OSError, ValueError) as exc:
        raise CliFailure(f"cannot connect to NATS at {shown}: {first_line(exc)}") from None


def cause(exc: BaseException) -> str:
    """The driver's error under SQLAlchemy's wrapping (which appends SQL and a help link)."""
    original = getattr(exc, "orig", None)
    return first_line(original if original is not None else exc)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
