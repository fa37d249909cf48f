"""HTTP lives in the entrypoints: the service layers and domains answer with results and
raise errors with machine codes; only `shared/http` and the routes turn them into statuses."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[3] / "services"
HTTP_MODULES = ("fastapi", "starlette", "http", "shared.http")
HTTP_NAMES = re.compile(r"status_code|HTTPStatus|HTTP_\d{3}")
STATUS_IN_WORDS = re.compile(r"\(\s*[1-5]\d\d(?:\)|,| `| otherwise)")
"""A status in a docstring or message, as `(404)` or `(409 \\`code\\`)` are written."""


def _is_http_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in HTTP_MODULES)


def _identifiers(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.keyword | ast.arg) and node.arg is not None:
        yield node.arg


def _is_status_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and 100 <= node.value <= 599


def _names_a_status(node: ast.expr) -> bool:
    return any("status" in name.lower() for name in _identifiers(node))


def http_mentions(source: str) -> list[str]:
    """Where `source` speaks HTTP: imports, status names, statuses compared or written."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if _is_http_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and _is_http_module(node.module or ""):
            found.append(f"{line}: from {node.module} import")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(_is_status_literal, sides)) and any(map(_names_a_status, sides)):
                found.append(f"{line}: a status compared with an HTTP status")
        elif isinstance(node, ast.Constant) and STATUS_IN_WORDS.search(str(node.value)):
            found.append(f"{line}: an HTTP status in words")
        found += [f"{line}: {name}" for name in _identifiers(node) if HTTP_NAMES.search(name)]
    return found


def _below_entrypoints() -> Iterator[Path]:
    for layer in ("service_layer", "domain"):
        yield from sorted(SERVICES.glob(f"*/{layer}/**/*.py"))


def test_no_service_layer_or_domain_module_speaks_http() -> None:
    modules = list(_below_entrypoints())
    speaking = {
        str(path.relative_to(SERVICES)): mentions
        for path in modules
        if (mentions := http_mentions(path.read_text()))
    }

    assert {path.relative_to(SERVICES).parts[0] for path in modules} >= {
        "dispatch",
        "notify",
        "reporting",
    }
    assert speaking == {}


@pytest.mark.parametrize(
    "source",
    [
        "from fastapi import Response",
        "import starlette.status",
        "from http import HTTPStatus",
        "from shared.http.problems import problem",
        "answer = Answer(status_code=201)",
        "code = outcome.status_code",
        "if exc.status != 404:\n    raise",
        '"""Refuse (403) a caller of another role."""',
        '"""Refused (409 `over_load_limit`)."""',
        '"""Not found (404, as for anything invisible)."""',
    ],
)
def test_the_check_sees_http_in_a_module(source: str) -> None:
    assert http_mentions(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "QUEUE_SCAN = 200",
        "def send(batch_size: int = 200) -> None: ...",
        "reason = miss.reason[:500]",
        "if status is DeliveryStatus.FAILED:\n    pass",
        '"""At most 200 characters."""',
        '"""Random bytes of a session id (256 bits: not guessable)."""',
    ],
)
def test_the_check_leaves_plain_numbers_and_statuses_of_the_domain_alone(source: str) -> None:
    assert http_mentions(source) == []
