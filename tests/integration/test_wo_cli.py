"""`wo` imports a command only to run it: `wo --help` and `wo token` load no service."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from wo.cli import LAZY_COMMANDS, app, load_lazy

HEAVY = ("services", "fastapi", "sqlalchemy")

_RUN_AND_LIST_MODULES = """
import json, sys
from wo.cli import app
try:
    app(args=sys.argv[1:], prog_name="wo")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def _modules_after(*args: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_MODULES, *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=True,
    )
    return done.stdout, set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args", [("--help",), ("token", "--role", "supervisor", "--tenant", "demo", "--project", "*")]
)
def test_help_and_token_import_no_service(args: tuple[str, ...]) -> None:
    output, modules = _modules_after(*args)

    assert output.strip()
    assert not modules & set(HEAVY)


def test_the_listing_shows_every_command_with_its_own_help() -> None:
    output, _ = _modules_after("--help")

    for name in LAZY_COMMANDS:
        loaded = load_lazy(name)
        own = (
            loaded.info.help
            if isinstance(loaded, typer.Typer)
            else (inspect.getdoc(loaded) or "").splitlines()[0]
        )
        assert own == LAZY_COMMANDS[name][2]
        assert f"{name} " in output and own in output


def test_a_lazy_command_runs_and_a_misspelt_one_is_suggested() -> None:
    runner = CliRunner()

    relay = runner.invoke(app, ["relay", "--help"])
    misspelt = runner.invoke(app, ["repoting"])

    assert relay.exit_code == 0, relay.output
    assert "republish" in relay.output and "--install-completion" not in relay.output
    assert misspelt.exit_code == 2
    assert "Did you mean 'reporting'?" in misspelt.output
