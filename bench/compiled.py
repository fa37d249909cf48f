"""Whether compiling dispatch's report path with mypyc lowers what a report costs: issue 18's
"compiled domain", measured.

Usage: python -m bench.compiled [--reports 3000] [--rounds 2]

The project is typed under mypy strict, so mypyc (it comes with mypy, in the dev extra) can
compile its modules to C extensions; it needs gcc and the Python headers. This script
copies the project twice into a temporary directory, compiles `COMPILED` (the modules a
report runs through, in the order a report meets them) in one copy, checks that copy
imports them as extensions, and runs `bench.report_parts` on SQLite in each copy, one
after the other, `--rounds` times (each turn a fresh process and database). It prints each
copy's medians (CPU ms a report: deciding, storing, relaying, their sum) and their ratio,
and writes bench/results/compiled.json.

mypyc refuses some modules on the path or breaks them at import, so they stay
interpreted in both copies: `shared.sqltypes` (SQLAlchemy type decorators recurse),
`shared.grouped` and `service_layer.timers` (generic and abstract classes),
`service_layer.sla` (a runtime-checkable protocol), `domain.sla.calendar`,
`domain.workorder.state` and `shared.envelope` (pydantic models: the C does not build) and
dispatch's outbox (async generators are not implemented).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ingest import turn_order
from bench.support import calibration, machine, write_results

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("services", "shared", "bench", "wo", "tests", "pyproject.toml")
"""What a copy holds: the packages `bench.report_parts` imports and mypy's settings."""
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.so", "build", "results", "var", ".*")
COMPILED = (
    "services/dispatch/service_layer/work_orders.py",
    "services/dispatch/service_layer/personal_data.py",
    "services/dispatch/service_layer/append.py",
    "services/dispatch/domain/workorder/lifecycle.py",
    "services/dispatch/domain/workorder/permissions.py",
    "services/dispatch/domain/workorder/personal_data.py",
    "services/dispatch/domain/workorder/numbering.py",
    "services/dispatch/domain/sla/clocks.py",
    "services/dispatch/domain/sla/engine.py",
    "services/dispatch/domain/sla/emitter.py",
    "services/dispatch/domain/sla/state.py",
    "services/dispatch/domain/sla/timers.py",
    "shared/privacy/fields.py",
    "shared/privacy/envelope.py",
    "shared/privacy/masking.py",
    "services/dispatch/adapters/append_plan.py",
    "services/dispatch/adapters/number_plan.py",
    "services/dispatch/adapters/event_store.py",
    "services/dispatch/adapters/group_commit.py",
    "services/dispatch/adapters/rows.py",
    "services/dispatch/adapters/sla_timer_table.py",
)
FIGURES = ("deciding_ms", "storing_ms", "relaying_ms", "sum_ms")


class CompileFailed(RuntimeError):
    """mypyc did not build the modules, or the copy does not import them compiled."""


def cannot_build() -> str | None:
    """Why mypyc cannot build C extensions here (no C compiler or no Python headers), or
    None when it can."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"mypyc needs a C compiler: {compiler!r} is not on PATH (Debian: gcc)"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"mypyc needs Python's headers: {headers} is missing (Debian: python3-dev)"
    return None


def copy_project(into: Path) -> Path:
    """A copy of what `bench.report_parts` needs to run, at `into`."""
    into.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=LEFT_OUT)
        else:
            shutil.copy2(source, into / name)
    return into


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def compile_modules(copy: Path, modules: tuple[str, ...]) -> None:
    """Build `modules` in place in `copy` with mypyc, then check the copy imports each
    one as an extension module, not its source."""
    built = subprocess.run(
        [sys.executable, "-m", "mypyc", *modules], cwd=copy, capture_output=True, text=True
    )
    if built.returncode != 0:
        raise CompileFailed(f"mypyc failed:\n{(built.stdout + built.stderr)[-4000:]}")
    names = [module_name(m) for m in modules]
    probe = (
        "import importlib, sys\nfor n in sys.argv[1:]: print(importlib.import_module(n).__file__)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, *names],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
    )
    if loaded.returncode != 0:
        raise CompileFailed(f"the compiled copy does not import:\n{loaded.stderr[-4000:]}")
    interpreted = [f for f in loaded.stdout.split() if not f.endswith(".so")]
    if interpreted:
        raise CompileFailed(f"still imported from source: {interpreted}")


def _env(copy: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(copy)}


def report_parts(copy: Path, reports: int) -> dict[str, float]:
    """One round of `bench.report_parts` on SQLite in `copy`: its figures, CPU ms a report."""
    subprocess.run(
        [sys.executable, "-m", "bench.report_parts", "--backend", "sqlite",
         "--reports", str(reports), "--rounds", "1"],
        cwd=copy, env=_env(copy), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    results = json.loads((copy / "bench" / "results" / "report-parts.json").read_text())
    found: dict[str, float] = results["rounds"]["sqlite"][0]
    return {figure: found[figure] for figure in FIGURES}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Each copy's medians over its rounds, and compiled over interpreted."""

    interpreted: dict[str, float]
    compiled: dict[str, float]
    ratio: dict[str, float]


def compare(interpreted: list[dict[str, float]], compiled: list[dict[str, float]]) -> Comparison:
    def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
        return {f: round(statistics.median(r[f] for r in rounds), 3) for f in FIGURES}

    plain, built = medians(interpreted), medians(compiled)
    return Comparison(plain, built, {f: round(built[f] / plain[f], 3) for f in FIGURES})


def table(comparison: Comparison) -> str:
    lines = [
        "| CPU ms a report (median), SQLite | interpreted | compiled (mypyc) | compiled / interpreted |",
        "|---|---|---|---|",
    ]
    for figure in FIGURES:
        lines.append(
            f"| {figure.removesuffix('_ms')} | {comparison.interpreted[figure]:.3f} | "
            f"{comparison.compiled[figure]:.3f} | {comparison.ratio[figure]:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reports", type=int, default=3000, choices=range(100, 20001), metavar="100..20000"
    )
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 11), metavar="1..10")
    args = parser.parse_args()
    missing = cannot_build()
    if missing is not None:
        raise SystemExit(missing)
    results: dict[str, Any] = {
        "machine": machine(),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reports": args.reports,
        "compiled_modules": [module_name(m) for m in COMPILED],
        "calibration_before": calibration(),
    }
    interpreted: list[dict[str, float]] = []
    compiled: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-compiled-") as tmp:
        plain = copy_project(Path(tmp) / "interpreted")
        built = copy_project(Path(tmp) / "compiled")
        print(f"compiling {len(COMPILED)} modules with mypyc…", flush=True)
        try:
            compile_modules(built, COMPILED)
        except CompileFailed as error:
            raise SystemExit(str(error)) from None
        for turn in range(args.rounds):
            # Alternated, each copy first in turn: the host's drift falls on both.
            for copy, rounds in turn_order(turn, ((plain, interpreted), (built, compiled))):
                rounds.append(report_parts(copy, args.reports))
                print(json.dumps({"copy": copy.name, **rounds[-1]}), flush=True)
    comparison = compare(interpreted, compiled)
    results |= {
        "rounds": {"interpreted": interpreted, "compiled": compiled},
        **asdict(comparison),
        "calibration_after": calibration(),
    }
    print(table(comparison), flush=True)
    write_results(results, "compiled.json")


if __name__ == "__main__":
    main()
