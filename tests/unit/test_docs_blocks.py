"""The shell blocks of the README and docs/ follow the rules that let a reader paste them.

Whether they work is `tests/e2e/test_docs_run.py`'s question (it runs them against a
real `wo up`); these are the rules it relies on, checked without a stack.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs_blocks import (
    NOT_RUN,
    PAGES,
    ROOT,
    ShellBlock,
    prelude,
    runnable_blocks,
    shell_blocks,
)

PAGE_IDS = [str(page.relative_to(ROOT)) for page in PAGES]
_HARD_CODED_PORT = re.compile(r"(?:localhost|127\.0\.0\.1):\d")


def test_the_prelude_reads_every_url_and_token_from_stack_json() -> None:
    text = prelude()
    assert "STACK=var/stack.json" in text
    for variable in ("API", "NOTIFY", "REPORTING", "CS", "DISPATCHER", "PM", "HQ"):
        assert re.search(rf"\b{variable}=\$\(", text), f"the prelude does not define ${variable}"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_a_page_with_commands_starts_with_the_prelude(page: Path) -> None:
    blocks = runnable_blocks(page)
    if blocks:
        assert blocks[0].text == prelude(), (
            f"{blocks[0].where}: the first command block of a page must be the README's prelude"
        )


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_commands_take_ports_from_stack_json(page: Path) -> None:
    hard_coded = [b.where for b in runnable_blocks(page) if _HARD_CODED_PORT.search(b.text)]
    assert not hard_coded, f"`wo up` moves taken ports; read URLs from stack.json: {hard_coded}"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_curl_fails_on_an_http_error_unless_it_shows_a_refusal(page: Path) -> None:
    unchecked = {b.where: b.curls_without_fail() for b in runnable_blocks(page)}
    unchecked = {where: curls for where, curls in unchecked.items() if curls}
    assert not unchecked, (
        f"add --fail-with-body, or end a refusal with `# refused: <status> <code>`: {unchecked}"
    )


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_not_run_marker_says_why_and_stands_before_a_shell_block(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    marked = {block.line for block in shell_blocks(page) if block.not_run is not None}
    for number, line in enumerate(lines, start=1):
        marker = NOT_RUN.match(line.strip())
        if marker:
            fence = next(
                n
                for n in range(number + 1, len(lines) + 2)
                if n > len(lines) or lines[n - 1].strip()
            )
            assert marker["reason"], f"{page.name}:{number}: a not-run marker gives its reason"
            assert fence in marked, (
                f"{page.name}:{number}: a not-run marker stands before a shell block"
            )


def test_the_parser_reads_markers_refusals_and_continued_commands(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n"
        "<!-- not-run: needs Docker -->\n"
        "```sh\ndocker compose up -d\n```\n\n"
        "```sh\n"
        'curl -s -X POST "$API/x" \\\n  -H "A: b"; echo   # refused: 403 role_not_allowed\n'
        'curl -sS "$API/y"\n'
        'curl -fsS "$API/z" | python3 -m json.tool\n'
        "```\n\n"
        "```json\n{}\n```\n",
        encoding="utf-8",
    )
    blocks = shell_blocks(page)
    assert [b.not_run for b in blocks] == ["needs Docker", None]
    running: ShellBlock = runnable_blocks(page)[0]
    assert running.refusals() == [(403, "role_not_allowed")]
    assert running.curls_without_fail() == ['curl -sS "$API/y"']
