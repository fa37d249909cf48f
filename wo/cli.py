"""The `wo` command: run the local stack, mint development tokens, operate services.

Every command but `up` (such as `wo relay republish`, owned by dispatch) is imported only
when it is run: importing every service took 1.7 s before each command, `wo --help` and
`wo token` included. The listing shows their one-line help from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    # Typer's own copy of Click, whose classes TyperGroup's methods are typed with.
    from typer._click import Command, Context

LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "token": (
        "wo.token",
        "token_command",
        "Print a development bearer token (HS256, JWT_SECRET or the development secret).",
    ),
    "events": ("wo.events", "events_app", "Watch the public event stream."),
    "relay": (
        "services.dispatch.entrypoints.cli",
        "relay_app",
        "The outbox relay of dispatch: recovery of the JetStream event stream.",
    ),
    "sla": (
        "services.dispatch.entrypoints.sla_cli",
        "sla_app",
        "The SLA clocks of dispatch: explain what happened; public-holiday schedules.",
    ),
    "dispatch": (
        "services.dispatch.entrypoints.dispatch_cli",
        "dispatch_app",
        "dispatch: rebuild the timer table and the residents' index; seal reports stored in clear.",
    ),
    "privacy": (
        "services.dispatch.entrypoints.privacy_cli",
        "privacy_app",
        "Residents' personal data: erase, export, list who is due for erasure.",
    ),
    "notify": (
        "services.notify.entrypoints.cli",
        "notify_app",
        "notify: dead letters (events and deliveries it gave up on), configuration import, masking.",
    ),
    "reporting": (
        "services.reporting.entrypoints.cli",
        "reporting_app",
        "reporting: rebuild the read model; its projector's state and dead letters; masking.",
    ),
}
"""Commands and command groups by name: their module, the Typer app or command function
in it, and its one-line help (the same as its own; a test keeps them alike)."""


def load_lazy(name: str) -> typer.Typer | Callable[..., None]:
    """The Typer app, or command function, of a lazily imported command."""
    module_name, attribute, _help = LAZY_COMMANDS[name]
    loaded: typer.Typer | Callable[..., None] = getattr(
        importlib.import_module(module_name), attribute
    )
    return loaded


def _mounted(name: str) -> Command:
    # Built as `add_typer` or `command` build it under `wo` (a root would get completion
    # options).
    holder = typer.Typer(add_completion=False)
    loaded = load_lazy(name)
    if isinstance(loaded, typer.Typer):
        holder.add_typer(loaded, name=name)
    else:
        holder.command(name)(loaded)
    holder.callback()(_no_options)
    return typer.main.get_group(holder).commands[name]


def _no_options() -> None:
    # A Typer app with one command runs it as the app itself; a callback keeps it a group.
    return None


class _LazyGroup(TyperGroup):
    """`wo` itself: lists every command, imports one only to run it (or show its help)."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY_COMMANDS:
            # The listing's stand-in: its name and help, nothing imported.
            return TyperCommand(cmd_name, help=LAZY_COMMANDS[cmd_name][2])
        return found

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        name = args[0] if args else None
        if name in LAZY_COMMANDS and name not in self.commands:
            self.add_command(_mounted(name), name)
        elif name is not None and not name.startswith("-") and name not in self.commands:
            # Typer suggests among the commands built so far: the lazy ones count too.
            matches = get_close_matches(name, self.list_commands(ctx))
            if matches:
                shown = ", ".join(repr(match) for match in matches)
                ctx.fail(f"No such command {name!r}. Did you mean {shown}?")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="wo",
    help="Work-order backbone: run the local stack and operate its services.",
    no_args_is_help=True,
    add_completion=False,
    cls=_LazyGroup,
    # Errors a user can cause are reported as messages; a traceback here is a bug,
    # and a plain one is easier to paste into an issue than Rich's boxed version.
    pretty_exceptions_enable=False,
)
app.callback()(_no_options)


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
    from rich.console import Console

    from wo.up import run_up

    code = run_up(var_dir, demo=demo, ready_timeout=ready_timeout, console=Console())
    raise typer.Exit(code)
