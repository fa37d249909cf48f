"""Debian's `wrk` as the closed-loop load generator: its Lua scripts, its run, its output.

wrk is C, so on two cores the load generator takes little of the CPU the server being
measured needs. It is not a Python package: a missing `wrk` stops a benchmark with the
command that installs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = "wrk is not installed: `apt-get install -y wrk` (Debian's package `wrk`)"


def require_wrk() -> None:
    """Stop (exit status 1, the hint on stderr) with how to install wrk when it is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit(INSTALL_HINT)


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured."""

    requests: int
    """Responses received, whatever their status."""
    seconds: float
    requests_per_s: float
    non_2xx: int
    """Responses with a status outside 2xx and 3xx (wrk counts 3xx as success)."""
    socket_errors: int
    """Connect, read and write errors, and responses later than wrk's `--timeout`."""
    latency_ms: dict[int, float]
    """Latency percentiles (50, 75, 90, 99) in milliseconds, when wrk ran with `--latency`
    (wrk pads a figure in seconds with a trailing space: `1.20s `)."""

    @property
    def failed(self) -> int:
        """Requests that did not succeed."""
        return self.non_2xx + self.socket_errors

    @property
    def succeeded(self) -> int:
        """Responses in 2xx (or 3xx)."""
        return self.requests - self.non_2xx


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wrk(output: str) -> WrkRun:
    """A WrkRun from wrk's standard output; ValueError if it is not wrk's summary."""
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if done is None or rate is None:
        raise ValueError(f"not a wrk summary: {output[:200]!r}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkRun(
        requests=int(done.group(1)),
        seconds=float(done.group(2)) * _UNITS[done.group(3)],
        requests_per_s=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        latency_ms={
            int(q): round(float(v) * _UNITS[u] * 1000, 3)
            for q, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m|h)[ \t]*$", output, re.M)
        },
    )


def post_script(
    path: str, body: dict[str, Any], headers: dict[str, str], idempotency_prefix: str | None
) -> str:
    """A wrk Lua script posting `body` to `path`; with `idempotency_prefix`, each request
    carries its own `Idempotency-Key` (prefix and a counter: unique with one wrk thread)."""
    lines = [
        f"local body = {_lua_string(json.dumps(body, ensure_ascii=False))}",
        "local headers = {"
        + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
        + "}",
        "local n = 0",
        "request = function()",
        "  n = n + 1",
    ]
    if idempotency_prefix is not None:
        lines.append(
            f"  headers['Idempotency-Key'] = {_lua_string(idempotency_prefix)} .. '-' .. n"
        )
    lines += [f"  return wrk.format('POST', {_lua_string(path)}, headers, body)", "end"]
    return "\n".join(lines) + "\n"


def _lua_string(text: str) -> str:
    # A long bracket string needs no escapes; its level is chosen so the text cannot close it.
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


TIMEOUT_SECONDS = 10
"""A response later than this is a socket error (wrk's own default, 2 s, would count a
slow server's queue as failures: the latency percentiles show slowness)."""


def _wrk_args(url: str, script: Path, seconds: int, connections: int, threads: int) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]


def run_wrk(
    url: str, script: Path, *, seconds: int, connections: int = 32, threads: int = 1
) -> WrkRun:
    """Load `url` with `script` for `seconds` (wrk -tN -cN -dNs) and parse its summary."""
    completed = subprocess.run(
        _wrk_args(url, script, seconds, connections, threads),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return parse_wrk(completed.stdout)


@dataclass(frozen=True)
class Target:
    """One server of several loaded at once, with its own script and connections."""

    url: str
    script: Path
    connections: int


def run_wrks(targets: list[Target], *, seconds: int) -> list[WrkRun]:
    """Load every target at once, one `wrk -t1` each (wrk takes one URL), for `seconds`;
    each run's summary, in the targets' order."""
    processes = [
        subprocess.Popen(
            _wrk_args(target.url, target.script, seconds, target.connections, 1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target in targets
    ]
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=seconds + 60)
            if process.returncode:
                raise subprocess.CalledProcessError(
                    process.returncode, process.args, stdout, stderr
                )
            outputs.append(stdout)
    finally:
        for process in processes:  # one failed: the others' load must not run on
            if process.poll() is None:
                process.kill()
                process.wait()
    return [parse_wrk(output) for output in outputs]


def split_connections(total: int, parts: int) -> list[int]:
    """`total` connections shared by `parts` load generators as evenly as whole numbers
    allow, the first ones taking the remainder (32 over 3: 11, 11, 10)."""
    if parts < 1 or total < parts:
        raise ValueError(f"cannot share {total} connections among {parts}")
    share, remainder = divmod(total, parts)
    return [share + (1 if n < remainder else 0) for n in range(parts)]


def combined(runs: list[WrkRun]) -> WrkRun:
    """Simultaneous runs against several servers as one: requests, rates and errors
    summed, the longest duration, and each latency percentile the worst of the runs (an
    upper bound: percentiles of separate runs cannot be merged exactly)."""
    if not runs:
        raise ValueError("no wrk runs to combine")
    quantiles = set.intersection(*(set(run.latency_ms) for run in runs))
    return WrkRun(
        requests=sum(run.requests for run in runs),
        seconds=max(run.seconds for run in runs),
        requests_per_s=round(sum(run.requests_per_s for run in runs), 2),
        non_2xx=sum(run.non_2xx for run in runs),
        socket_errors=sum(run.socket_errors for run in runs),
        latency_ms={q: max(run.latency_ms[q] for run in runs) for q in sorted(quantiles)},
    )
