"""`wo events tail`: watch the events on the bus as an integrator would receive them."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from nats.errors import NoServersError
from nats.js.api import DeliverPolicy
from rich.console import Console

from shared.envelope import Envelope
from shared.errors import InvalidInput
from shared.logging import redact_credentials
from shared.nats import connect
from shared.subjects import EVENTS_STREAM, tenant_filter

events_app = typer.Typer(help="Watch the public event stream.", no_args_is_help=True)


def default_nats_url(var_dir: Path) -> str:
    """NATS_URL if set, else the URL of the running `wo up` stack, else the local default."""
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    stack_file = var_dir / "stack.json"
    if stack_file.exists():
        url: str = json.loads(stack_file.read_text())["nats_url"]
        return url
    return "nats://127.0.0.1:4222"


@events_app.command("tail")
def tail(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    project: Annotated[str, typer.Option(help="Project slug, or * for all.")] = "*",
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Replay the stream from its first event.")
    ] = False,
    count: Annotated[int, typer.Option(min=0, help="Stop after this many events (0: never).")] = 0,
    nats_url: Annotated[
        str | None, typer.Option(help="NATS URL (default: the running stack's).")
    ] = None,
    var_dir: Annotated[Path, typer.Option(help="Where `wo up` keeps stack.json.")] = Path("var"),
) -> None:
    """Print each work-order and project event of a tenant as it arrives on JetStream."""
    try:
        subject = tenant_filter(tenant, project)
    except InvalidInput as exc:
        raise typer.BadParameter(exc.message) from None
    url = nats_url or default_nats_url(var_dir)
    console = Console()
    try:
        asyncio.run(_tail(console, url, subject, from_start, count))
    except (NoServersError, OSError) as exc:
        console.print(f"[red]cannot reach NATS at {redact_credentials(url)}: {exc}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


async def _tail(console: Console, url: str, subject: str, from_start: bool, count: int) -> None:
    nc = await connect(url, "wo-events-tail", max_reconnect_attempts=0, allow_reconnect=False)
    try:
        js = nc.jetstream()
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        subscription = await js.subscribe(
            subject, stream=EVENTS_STREAM, ordered_consumer=True, deliver_policy=policy
        )
        console.print(f"[dim]listening on {subject} at {redact_credentials(url)}[/dim]")
        seen = 0
        async for message in subscription.messages:
            envelope = Envelope.from_json(message.data)
            console.print(
                f"{envelope.time:%H:%M:%S} [bold]{envelope.type}[/bold] {envelope.project} "
                f"{envelope.subject} #{envelope.sequence} by {envelope.actor}",
                soft_wrap=True,
            )
            seen += 1
            if count and seen >= count:
                break
    finally:
        await nc.close()
