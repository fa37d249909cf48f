"""Where the local stack lives and how its services are found, placed and configured.

Pure decisions (no processes): the layout of the var directory, which services exist,
which port and database each one gets, and the environment it runs with.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.privacy import local_key

LOOPBACK = "127.0.0.1"
NATS_PORT = 4222
SERVICE_PORTS = {"dispatch": 8000, "notify": 8001, "reporting": 8002, "console": 8003}
"""Preferred HTTP port of each known service; a taken port (or an unknown service) gets a free one."""
SERVICE_ORDER = ("dispatch", "notify", "reporting", "console")
"""The order services start in: the console last, for it is given the others' URLs."""
FRONT = "console"
"""The service a person opens first: `wo up` shows its URL before everything else."""


@dataclass(frozen=True)
class StackPaths:
    """Where the stack keeps its data, logs and description (all absolute)."""

    root: Path

    @property
    def nats_store(self) -> Path:
        """JetStream store directory of the embedded nats-server."""
        return self.root / "nats"

    @property
    def logs(self) -> Path:
        """Directory of the log files, one per process."""
        return self.root / "log"

    @property
    def stack_file(self) -> Path:
        """`stack.json`, present while the stack is up."""
        return self.root / "stack.json"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the running `wo up`, so two stacks never share one var dir."""
        return self.root / "wo-up.lock"

    @property
    def master_key(self) -> Path:
        """The privacy master key the services' residents' data keys are wrapped by."""
        return self.root / local_key.FILE_NAME

    def log(self, name: str) -> Path:
        """Log file of process `name`."""
        return self.logs / f"{name}.log"

    def database(self, name: str) -> Path:
        """SQLite file of service `name`."""
        return self.root / f"{name}.db"


def project_root() -> Path:
    """The directory holding the `services` package the children will run."""
    spec = importlib.util.find_spec("services")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the `services` package is not importable: install the project")
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent


def discover_services(root: Path) -> list[str]:
    """Names of the services that exist: packages `services/<name>` with a `__main__.py`.

    Known services come first in their usual order (dispatch, notify, reporting, console),
    then any others alphabetically, so adding a service needs no change here.
    """
    found = {
        path.parent.name
        for path in (root / "services").glob("*/__main__.py")
        if (path.parent / "__init__.py").is_file()
    }
    known = [name for name in SERVICE_ORDER if name in found]
    return known + sorted(found - set(known))


def service_database_url(name: str, paths: StackPaths, env: Mapping[str, str]) -> str:
    """Database of service `name`: `<NAME>_DATABASE_URL`, then (dispatch only) `DATABASE_URL`,
    else a SQLite file under the var dir.

    A plain `DATABASE_URL` applies to dispatch alone because every service owns its own
    database; the others take theirs from `NOTIFY_DATABASE_URL` and `REPORTING_DATABASE_URL`.
    """
    override = env.get(f"{name.upper()}_DATABASE_URL")
    if not override and name == "dispatch":
        override = env.get("DATABASE_URL")
    return override or f"sqlite+aiosqlite:///{paths.database(name)}"


def service_environment(
    name: str,
    port: int,
    nats_url: str,
    database_url: str,
    base: Mapping[str, str],
    instance_id: str = "",
    peers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment of service `name`: the user's, with the stack's own values on top.

    `instance_id` is answered back on `/readyz`, so the stack knows it talks to its own
    child and not to another process that took the port. `peers` are the URLs of the
    stack's other services, given as `<NAME>_URL` (the console calls dispatch by it,
    reporting sends its old dashboard's address to the console by it).
    """
    env = dict(base)
    # A SERVICE_NAME exported for one service would rename all of them.
    env.pop("SERVICE_NAME", None)
    env.update(
        HTTP_HOST=LOOPBACK,
        HTTP_PORT=str(port),
        NATS_URL=nats_url,
        DATABASE_URL=database_url,
        ENVIRONMENT="development",
        INSTANCE_ID=instance_id,
        # Logs go to files; without this a crash could lose its last buffered lines.
        PYTHONUNBUFFERED="1",
    )
    for peer, url in (peers or {}).items():
        if peer != name:
            env[f"{peer.upper()}_URL"] = url
    return env
