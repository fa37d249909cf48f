"""The `wo` command: run the local stack, mint development tokens, operate services.

Subcommands owned by a service (such as `wo relay republish` from dispatch) are
mounted here when their module exists, so `wo` keeps working while they are built.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wo.events import events_app
from wo.token import token_command
from wo.up import run_up

app = typer.Typer(
    name="wo",
    help="Work-order backbone: run the local stack and operate its services.",
    no_args_is_help=True,
    add_completion=False,
    # Errors a user can cause are reported as messages; a traceback here is a bug,
    # and a plain one is easier to paste into an issue than Rich's boxed version.
    pretty_exceptions_enable=False,
)


@app.command()
def up(
    var_dir: Annotated[
        Path,
        typer.Option(
            "--var-dir",
            help="Directory of the databases, the JetStream store, logs and stack.json.",
            file_okay=False,
        ),
    ] = Path("var"),
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo", help="Register the demo tenant's projects once dispatch is ready."
        ),
    ] = True,
    ready_timeout: Annotated[
        float,
        typer.Option(
            "--ready-timeout", min=1.0, help="Seconds to wait for every service's /readyz."
        ),
    ] = 60.0,
) -> None:
    """Start nats-server and every service locally, stay in the foreground, stop on Ctrl-C."""
    code = run_up(var_dir, demo=demo, ready_timeout=ready_timeout, console=Console())
    raise typer.Exit(code)


app.command("token")(token_command)
app.add_typer(events_app, name="events")


def _mount(target: typer.Typer, module_name: str, attribute: str, name: str) -> None:
    # A service's operator commands live with the service; mount them once they exist.
    try:
        present = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        present = False
    if present:
        module = importlib.import_module(module_name)
        target.add_typer(getattr(module, attribute), name=name)


_mount(app, "services.dispatch.entrypoints.cli", "relay_app", "relay")
_mount(app, "services.dispatch.entrypoints.sla_cli", "sla_app", "sla")
_mount(app, "services.notify.entrypoints.cli", "notify_app", "notify")
_mount(app, "services.reporting.entrypoints.cli", "reporting_app", "reporting")
