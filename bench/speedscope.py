"""Where a py-spy profile's time goes: frames by self and by total samples, from the
speedscope file `py-spy record --format speedscope` writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FrameTime:
    """A frame's share of the samples."""

    frame: str
    """`function (file:line)`."""
    seconds: float
    share: float
    """Of all samples in the profile."""


def _frame_names(document: dict[str, Any]) -> list[str]:
    return [
        f"{frame['name']} ({frame.get('file', '?')}:{frame.get('line', '?')})"
        for frame in document["shared"]["frames"]
    ]


def _samples(document: dict[str, Any], rate: float) -> Iterator[tuple[list[int], float]]:
    """Every non-empty sample of every thread: its stack of frame indices and its seconds.
    py-spy weighs its samples in seconds; a profile weighed in samples is converted at
    `rate` a second."""
    for profile in document["profiles"]:
        scale = 1.0 if profile.get("unit") == "seconds" else 1.0 / rate
        for stack, unscaled in zip(profile["samples"], profile["weights"], strict=True):
            if stack:
                yield stack, unscaled * scale


def frame_times(
    document: dict[str, Any], rate: float, *, inclusive: bool = False
) -> tuple[list[FrameTime], float]:
    """Every frame's seconds, most first, over all the profile's threads, and the total.

    Self time counts a sample for the innermost frame of its stack only; inclusive time
    counts it once for every frame on the stack (a recursive frame once)."""
    names = _frame_names(document)
    counts: defaultdict[str, float] = defaultdict(float)  # seconds by frame
    total = 0.0
    for stack, weight in _samples(document, rate):
        total += weight
        if inclusive:
            for index in set(stack):
                counts[names[index]] += weight
        else:
            # speedscope lists a sample's stack from the root to the innermost frame.
            counts[names[stack[-1]]] += weight
    return [
        FrameTime(frame, seconds, seconds / total if total else 0.0)
        for frame, seconds in sorted(counts.items(), key=lambda item: -item[1])
    ], total


def package_of(frame: str) -> str:
    """The package a `function (file:line)` frame belongs to: the installed distribution's
    top-level package, the project's `services.<name>`, `shared` or `bench`, or
    `stdlib:<module>`; `?` for generated code (dataclass `__init__`, `<string>`)."""
    path = frame.rpartition(" (")[2].rpartition(":")[0]
    parts = path.split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    for root in ("services", "shared", "bench", "wo"):
        if root in parts:
            rest = parts[parts.index(root) :]
            return ".".join(rest[:2]) if root == "services" and len(rest) > 2 else root
    for index, part in enumerate(parts):
        if part.startswith("python3") and index + 1 < len(parts):
            return f"stdlib:{parts[index + 1].removesuffix('.py')}"
    return "?"


def by_package(frames: list[FrameTime]) -> list[FrameTime]:
    """Self times summed by package (`package_of`), most first; `frame` is the package."""
    seconds: dict[str, float] = {}
    for frame in frames:
        package = package_of(frame.frame)
        seconds[package] = seconds.get(package, 0.0) + frame.seconds
    total = sum(seconds.values())
    return [
        FrameTime(package, spent, spent / total if total else 0.0)
        for package, spent in sorted(seconds.items(), key=lambda item: -item[1])
    ]


@dataclass(frozen=True)
class Part:
    """A named part of the work: the samples with any of `members` on their stack, each
    `/path/ending.py:function` (`Class.method` for a method, as py-spy names it)."""

    label: str
    members: tuple[str, ...]

    def holds(self, frame: dict[str, Any]) -> bool:
        """Whether a speedscope frame is one of this part's."""
        where = f"{frame.get('file', '')}:{frame['name']}"
        return any(where.endswith(member) for member in self.members)


def part_times(
    document: dict[str, Any], rate: float, parts: list[Part]
) -> tuple[list[FrameTime], float]:
    """Each part's seconds, in the order given, and the profile's total: a sample counts
    once for a part when any frame of its stack is the part's (a part called within
    another counts in both, as inclusive times do)."""
    frames = document["shared"]["frames"]
    members = [{i for i, frame in enumerate(frames) if part.holds(frame)} for part in parts]
    seconds = [0.0] * len(parts)
    total = 0.0
    for stack, weight in _samples(document, rate):
        total += weight
        on_stack = set(stack)
        for index, member in enumerate(members):
            if not member.isdisjoint(on_stack):
                seconds[index] += weight
    return [
        FrameTime(part.label, spent, spent / total if total else 0.0)
        for part, spent in zip(parts, seconds, strict=True)
    ], total
