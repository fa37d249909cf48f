"""`wo up`: the whole stack on a laptop, no containers.

A `nats-server` child with JetStream under `<var>/nats` (unless `NATS_URL` points at
an existing NATS), then every service that exists (`services/<name>/__main__.py`) as
a child process with a SQLite file under `<var>`, each waited for on `/readyz`. The
stack is described in `<var>/stack.json` (URLs, pids, logs, demo tokens, NATS users)
for scripts and tests, supervised (a child that exits is restarted, see `wo.stack`),
and stopped in order (services, then NATS) on Ctrl-C or SIGTERM only.

Everything under `<var>` is the owner's alone (directories 0700, files 0600): the
databases and logs hold residents' data, `stack.json`, the NATS configuration and
`privacy-master.key` (generated on the first run, `wo.master_key`) hold secrets.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shared.auth import Role
from wo.demo import (
    DEMO_PROJECTS,
    DEMO_TENANT,
    DemoRegistrationError,
    demo_tokens,
    register_demo_projects,
    write_demo_notify_config,
)
from wo.layout import FRONT, StackPaths, discover_services, project_root, service_database_url
from wo.master_key import MasterKeyError, provide_master_key
from wo.stack import SignalWatch, Stack, StackFailed, StopRequested, tail_log
from wo.token import TokenConfigError


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[IO[str]]:
    """Hold an exclusive flock on `path`; raises `StackFailed` if another `wo up` holds it."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackFailed(
                f"another `wo up` is running with {path.parent}; stop it first "
                "or pass a different --var-dir"
            ) from None
        yield handle


def write_stack_file(path: Path, description: dict[str, Any]) -> None:
    """Write `stack.json` atomically, readable by the owner only (it holds tokens)."""
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(description, file, indent=2, ensure_ascii=False)
        file.write("\n")
    os.replace(tmp, path)


def make_private(paths: StackPaths, env: Mapping[str, str]) -> None:
    """Create the var directory private, and narrow what a previous run left there.

    The services' SQLite files are created here (empty, 0600) before they start, so they
    never exist readable by others, whatever the services' umask.
    """
    for directory in (paths.root, paths.logs, paths.nats_store):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
    # Only what a stack writes there: the var directory may hold other things too.
    for path in [*paths.root.glob("*.db*"), *paths.logs.glob("*.log"), paths.stack_file]:
        if path.is_file():
            path.chmod(0o600)
    for name in discover_services(project_root()):
        database = paths.database(name)
        if service_database_url(name, paths, env).endswith(str(database)):
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
            database.chmod(0o600)


def leftover_processes(stack_file: Path) -> dict[str, int]:
    """Processes recorded in a previous run's `stack.json` that are still running.

    Only a `wo up` that was killed leaves them (services die with it; nats-server does
    not). A pid counts only if its command line still matches, so a reused pid is ignored.
    """
    try:
        previous = json.loads(stack_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    recorded = {"nats-server": ((previous.get("nats") or {}).get("pid"), "nats-server")}
    for name, service in (previous.get("services") or {}).items():
        recorded[name] = (service.get("pid"), f"services.{name}")
    return {
        name: pid
        for name, (pid, marker) in recorded.items()
        if isinstance(pid, int) and _running(pid, marker)
    }


def _running(pid: int, marker: str) -> bool:
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except FileNotFoundError:
        # No procfs (macOS): the pid is all there is to go by.
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return marker in cmdline.decode(errors="replace")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def print_summary(console: Console, stack: Stack, description: dict[str, Any]) -> None:
    """Show where everything is: a table of processes and how to get a token."""
    root = stack.paths.root
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    # URLs are what one copies: never shorten them. Logs are shown relative to the var dir.
    table.add_column("Process", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    table.add_column("PID", justify="right", no_wrap=True)
    table.add_column("Log", overflow="fold")
    nats = description["nats"]
    table.add_row(
        "nats-server" if nats["embedded"] else "NATS (external)",
        nats["url"],
        str(nats["pid"] or "-"),
        _relative(nats["log"], root) if nats["log"] else "-",
    )
    for name, service in description["services"].items():
        table.add_row(name, service["url"], str(service["pid"]), _relative(service["log"], root))
    front = description["services"].get(FRONT)
    if front is not None:
        # What a person opens first, before any other URL (docs/console.md).
        console.print(f"[bold]Open the console:[/] {front['url']}", soft_wrap=True)
    var_dir = _display(str(root))
    stack_file = _display(str(stack.paths.stack_file))
    projects = ", ".join(description["projects"]) or "(none registered)"
    on_sqlite = left_on_sqlite(description["services"])
    databases = (
        (
            f"{', '.join(on_sqlite)} still on SQLite under {var_dir}: set "
            + ", ".join(f"{name.upper()}_DATABASE_URL" for name in on_sqlite)
            + " to move them too\n",
            "yellow",
        )
        if on_sqlite
        else ""
    )
    notes = Text.assemble(
        ("Data, logs and stack.json in ", "dim"),
        var_dir,
        "\n",
        databases,
        ("Tenant ", "dim"),
        (DEMO_TENANT, "bold"),
        ("  projects ", "dim"),
        (projects, "bold"),
        "\n",
        ("A token for every role is in stack.json, e.g. ", "dim"),
        f"jq -r .tokens.{Role.CUSTOMER_SERVICE} {stack_file}",
        "\n",
        ("Another token: ", "dim"),
        f"wo token --role {Role.DISPATCHER} --tenant {DEMO_TENANT} --project {DEMO_PROJECTS[0].slug}",
        "\n",
        ("Press Ctrl-C to stop.", "dim"),
    )
    console.print(Panel.fit(table, title="[bold green]work-order stack is up[/]"))
    # soft_wrap: the commands shown must stay copy-pasteable when the terminal is narrow.
    console.print(notes, soft_wrap=True)


def left_on_sqlite(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Services left on their SQLite file while another was given a database server.

    Each service owns its database and has its own variable, so exporting one URL moves one
    service only; the summary names the others rather than let them stay behind silently.
    """
    # The console keeps no database: only services with one count.
    with_database = {n: s["database_url"] for n, s in services.items() if s.get("database_url")}
    on_sqlite = [name for name, url in with_database.items() if url.startswith("sqlite")]
    return on_sqlite if len(on_sqlite) < len(with_database) else []


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _display(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def run_up(
    var_dir: Path,
    *,
    demo: bool,
    ready_timeout: float,
    console: Console,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the stack in the foreground until stopped; returns the process exit code."""
    environment = dict(os.environ if env is None else env)
    paths = StackPaths(var_dir.expanduser().resolve())
    if demo and not environment.get("NOTIFY_CONFIG_FILE"):
        # The demo tenant's contacts and operator desk, unless the user brings a file.
        paths.root.mkdir(parents=True, exist_ok=True)
        config = write_demo_notify_config(paths.root / "notify-demo.json")
        environment["NOTIFY_CONFIG_FILE"] = str(config)
    # Installed first, so a Ctrl-C at any moment stops the stack in order rather
    # than raising KeyboardInterrupt halfway through starting it.
    with SignalWatch() as signals:
        try:
            make_private(paths, environment)
            root = project_root()
            with exclusive_lock(paths.lock_file):
                _forget_previous_run(paths)
                try:
                    provide_master_key(environment, paths.master_key)
                except MasterKeyError as exc:
                    raise StackFailed(str(exc)) from None
                try:
                    # Minted before any process starts: a bad JWT setting fails fast.
                    tokens = demo_tokens()
                except TokenConfigError as exc:
                    raise StackFailed(str(exc)) from None
                return _run(
                    Stack(paths, environment, console, signals), root, tokens, demo, ready_timeout
                )
        except StopRequested:
            return 0
        except StackFailed as exc:
            _report_failure(console, exc)
            return 1
        except OSError as exc:
            console.print(f"[bold red]Error:[/] {exc}", soft_wrap=True)
            return 1


def _forget_previous_run(paths: StackPaths) -> None:
    if not paths.stack_file.exists():
        return
    leftovers = leftover_processes(paths.stack_file)
    if leftovers:
        # Starting next to them would put two nats-servers on one JetStream store.
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in leftovers.items())
        pids = " ".join(str(pid) for pid in leftovers.values())
        raise StackFailed(
            f"a previous `wo up` with {paths.root} did not stop cleanly and left "
            f"{listed} running; stop them (kill {pids}) and run `wo up` again"
        )
    paths.stack_file.unlink()


def _run(stack: Stack, root: Path, tokens: dict[str, str], demo: bool, ready_timeout: float) -> int:
    console = stack.console
    try:
        stack.start_nats()
        names = discover_services(root)
        if not names:
            console.print("[yellow]No services found (services/<name>/__main__.py).[/]")
        stack.plan_ports(names)
        for name in names:
            stack.start_service(name, root)
        stack.wait_ready(ready_timeout)
        projects = _register_demo(stack, tokens, console) if demo else []
        description = stack.description(tokens, projects)
        write_stack_file(stack.paths.stack_file, description)
        print_summary(console, stack, description)

        def rewrite() -> None:
            # A restarted child has a new pid: keep stack.json true.
            write_stack_file(stack.paths.stack_file, stack.description(tokens, projects))

        stack.watch(rewrite)
    except StopRequested:
        console.print("Stopping …")
        return 0
    except StackFailed as exc:
        _report_failure(console, exc)
        console.print("Stopping …")
        return 1
    finally:
        stack.stop()
        stack.paths.stack_file.unlink(missing_ok=True)
        console.print("Stopped.")


def _register_demo(stack: Stack, tokens: dict[str, str], console: Console) -> list[str]:
    dispatch = next((s for s in stack.services if s.name == "dispatch"), None)
    if dispatch is None:
        console.print("[yellow]dispatch is not running; demo projects not registered.[/]")
        return []
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        try:
            outcomes = register_demo_projects(client, dispatch.url, tokens[Role.HQ_QUALITY])
        except DemoRegistrationError as exc:
            raise StackFailed(str(exc), dispatch.log, dispatch.log_offset) from None
    for slug, outcome in outcomes.items():
        said = {"created": "registered", "units added": "already registered; units added"}.get(
            outcome, "already registered"
        )
        console.print(f"[green]✓[/] demo project {slug} {said}")
    return list(outcomes)


def _report_failure(console: Console, exc: StackFailed) -> None:
    console.print(f"[bold red]Error:[/] {exc.message}", soft_wrap=True)
    if exc.log is not None:
        tail = tail_log(exc.log, exc.log_offset)
        console.print(
            Panel(
                Text(tail or "(nothing logged)"),
                title=f"last lines of {_display(str(exc.log))}",
                border_style="red",
            )
        )
