"""How long the `wo` command takes to answer: `wo --help` and `wo token`.

Usage: python -m bench.cli_startup [--runs 20]

Each command runs `--runs` times as a fresh process (after two warm-up runs, so the
file cache is warm as on a developer's machine); the median and p90 of the wall time
and the median CPU time (user + system of the child) are printed and written to
bench/results/cli-startup.json. The aim is under 0.3 s each: `wo` is typed by hand.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from typing import Any

from bench.support import machine, percentile, write_results

COMMANDS = {
    "wo --help": ["--help"],
    "wo token": ["token", "--role", "supervisor", "--tenant", "demo", "--project", "*"],
}


def _wo() -> list[str]:
    found = shutil.which("wo", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "wo"]


def _once(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int) -> dict[str, Any]:
    """Wall and CPU seconds of each command over `runs` fresh processes."""
    found: dict[str, Any] = {}
    for name, args in COMMANDS.items():
        argv = [*_wo(), *args]
        for _ in range(2):
            _once(argv)
        samples = [_once(argv) for _ in range(runs)]
        walls = [w for w, _ in samples]
        cpus = [c for _, c in samples]
        found[name] = {
            "wall_p50_s": round(percentile(walls, 0.5), 3),
            "wall_p90_s": round(percentile(walls, 0.9), 3),
            "cpu_p50_s": round(percentile(cpus, 0.5), 3),
            "runs": runs,
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    runs = max(1, min(options.runs, 200))  # bounded
    results = {"machine": machine(), "load_average": os.getloadavg(), **measure(runs)}
    write_results(results, "cli-startup.json")


if __name__ == "__main__":
    main()
