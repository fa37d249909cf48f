"""`shared/` is imported under its own name: no service module only re-exports it."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services"


def _only_re_exports_shared(tree: ast.Module) -> bool:
    body = [
        node
        for node in tree.body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
        and not (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        )
    ]
    return bool(body) and all(
        isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shared")
        for node in body
    )


def test_no_service_module_is_an_alias_of_shared() -> None:
    aliases = [
        str(path.relative_to(SERVICES))
        for path in sorted(SERVICES.rglob("*.py"))
        if _only_re_exports_shared(ast.parse(path.read_text()))
    ]

    assert aliases == []
