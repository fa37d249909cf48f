"""The shell blocks of the README and docs/, as a reader sees them.

A fenced block tagged `sh` (or `bash`, `shell`, `console`) is a command a reader pastes.
Each one runs in `tests/e2e/test_docs_run.py` against a real `wo up`, unless the line
just before its fence says why it cannot: `<!-- not-run: reason -->` (a production
deployment, a command that starts the stack itself, a benchmark). A `curl` meant to show
a refusal ends with `# refused: <status> <code>`; every other `curl` fails on an HTTP error
(`--fail-with-body` or `-f`), so an unexpected refusal stops the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy" / "README.md"]
"""Every page a user reads, the README first (it starts the walkthrough)."""

SHELL_TAGS = frozenset({"sh", "bash", "shell", "console", "zsh"})
_FENCE = re.compile(r"^(\s*)```(\S*)")
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>.*?)\s*-->$")
_REFUSED = re.compile(r"#\s*refused:\s*(?P<status>\d{3})\s+(?P<code>[a-z_]+)\s*$")
_CURL = re.compile(r"(?:^|[\s($|])curl\s")
_FAILS_ON_HTTP_ERROR = re.compile(r"(?:^|\s)(?:--fail-with-body|--fail|-[a-zA-Z]*f[a-zA-Z]*)(?=\s)")


@dataclass(frozen=True)
class ShellBlock:
    """One fenced shell block of a page."""

    page: Path
    line: int
    """Line of the opening fence (1-based)."""
    text: str
    not_run: str | None
    """Why the block is not run, from its `<!-- not-run: ... -->` marker; None: it runs."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[str]:
        """The block's commands, with backslash-continued lines joined."""
        joined = re.sub(r"\\\n", " ", self.text)
        return [line.strip() for line in joined.splitlines() if line.strip()]

    def refusals(self) -> list[tuple[int, str]]:
        """(status, code) of each command marked `# refused: <status> <code>`."""
        found = (_REFUSED.search(command) for command in self.commands())
        return [(int(m["status"]), m["code"]) for m in found if m]

    def curls_without_fail(self) -> list[str]:
        """`curl` commands that would let an HTTP error pass unnoticed and are not refusals."""
        return [
            command
            for command in self.commands()
            if _CURL.search(command)
            and not _REFUSED.search(command)
            and not _FAILS_ON_HTTP_ERROR.search(command.split("#", 1)[0] + " ")
        ]


def shell_blocks(page: Path) -> list[ShellBlock]:
    """Every fenced shell block of `page`, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[ShellBlock] = []
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        indent, tag = opening[1], opening[2].lower()
        end = number + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        if tag in SHELL_TAGS:
            previous = next((line for line in reversed(lines[:number]) if line.strip()), "")
            marker = NOT_RUN.match(previous.strip())
            blocks.append(
                ShellBlock(
                    page=page,
                    line=number + 1,
                    text="\n".join(line.removeprefix(indent) for line in lines[number + 1 : end])
                    + "\n",
                    not_run=marker["reason"] if marker else None,
                )
            )
        number = end + 1
    return blocks


def runnable_blocks(page: Path) -> list[ShellBlock]:
    """The blocks of `page` that run against the local stack, in order."""
    return [block for block in shell_blocks(page) if block.not_run is None]


def prelude() -> str:
    """The README's first runnable block: every page with commands starts with it."""
    return runnable_blocks(ROOT / "README.md")[0].text
