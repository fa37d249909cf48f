"""CPU time a process tree has used, read from Linux's /proc (no psutil).

A server's own CPU per request is the figure to compare on a machine whose other work
moves the wall-clock rate: the load generator, the database and NATS are left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class StatTimes:
    """The fields of /proc/<pid>/stat a CPU reading needs (times in clock ticks)."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    """Children's user time, once they have exited and been waited for."""
    cstime: int

    @property
    def own_and_reaped(self) -> int:
        """Ticks of the process and of its children that have exited."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> StatTimes:
    """Parse one /proc/<pid>/stat line.

    The command name (field 2) is in parentheses and may hold spaces and parentheses, so
    the fields are counted from its last closing parenthesis."""
    pid, _, rest = text.partition(" (")
    fields = rest.rpartition(")")[2].split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    return StatTimes(
        pid=int(pid),
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def _stats(proc: Path) -> list[StatTimes]:
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                found.append(parse_stat((entry / "stat").read_text()))
            except (OSError, IndexError, ValueError):
                continue  # it exited while the table was read
    return found


def tree_ticks(pid: int, stats: list[StatTimes]) -> int:
    """Ticks of `pid`, its reaped children, and every live descendant in `stats`."""
    children: dict[int, list[StatTimes]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
    mine = [s for s in stats if s.pid == pid]
    if not mine:
        raise ProcessLookupError(pid)
    total, waiting = 0, mine
    while waiting:
        stat = waiting.pop()
        total += stat.own_and_reaped
        waiting.extend(children.get(stat.pid, []))
    return total


def tree_cpu_seconds(pid: int, proc: Path = PROC) -> float:
    """CPU seconds (user and system) of process `pid` and all its children so far."""
    return tree_ticks(pid, _stats(proc)) / os.sysconf("SC_CLK_TCK")


def parent_of(pid: int, proc: Path = PROC) -> int:
    """The parent of process `pid` (a PostgreSQL backend's is the server's postmaster,
    whose tree counts every backend, ended ones too); `ProcessLookupError` if it is
    not on this machine."""
    try:
        return parse_stat((proc / str(pid) / "stat").read_text()).ppid
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None


def own_cpu_seconds(pids: Iterable[int], proc: Path = PROC) -> dict[int, float]:
    """CPU seconds so far of each of `pids` still running, by itself (not its children):
    for processes that are not ours to descend from, such as a database's backends."""
    wanted = set(pids)
    ticks = os.sysconf("SC_CLK_TCK")
    return {s.pid: (s.utime + s.stime) / ticks for s in _stats(proc) if s.pid in wanted}


def grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds processes used between two readings: a process first seen in `after`
    counts whole (it started in between); one gone by `after` is lost (not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
