"""Dispatch's domain is packages by concept, each entered only through its public face.

A package's `__init__.py` names what the rest of the code may use (`__all__`); the
modules behind it can be renamed or split without touching an importer. This walks every
import in the repository and refuses one that reaches past a face from outside the package.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = "services.dispatch.domain"
PACKAGES = ("workorder", "sla", "assignment", "privacy")

# White-box exceptions, each with its reason: (importing file, module it reaches into).
ALLOWED = {
    # Proves the calendar's per-day cache is hit, which only the private cache can show.
    ("tests/unit/dispatch/test_public_holidays.py", f"{DOMAIN}.sla.calendar"),
}


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    return modules


def _python_files() -> list[Path]:
    roots = ("services", "shared", "tests", "bench", "wo")
    return [p for r in roots if (ROOT / r).exists() for p in (ROOT / r).rglob("*.py")]


def test_code_outside_a_domain_package_imports_only_its_face() -> None:
    reaching = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        for module in _imported_modules(path):
            for package in PACKAGES:
                face = f"{DOMAIN}.{package}"
                inside = relative.startswith(face.replace(".", "/") + "/")
                allowed = inside or (relative, module) in ALLOWED
                if module.startswith(face + ".") and not allowed:
                    reaching.append(f"{relative} imports {module}")
    assert reaching == [], "import from the package's face instead:\n" + "\n".join(reaching)


def test_every_face_names_what_it_offers_and_offers_it() -> None:
    for package in PACKAGES:
        face = importlib.import_module(f"{DOMAIN}.{package}")
        exported = face.__all__
        assert exported, f"{package} has an empty public face"
        assert [name for name in exported if not hasattr(face, name)] == []


def test_the_old_flat_modules_are_gone() -> None:
    """No alias module keeps an old path alive: the flat files moved into the packages."""
    flat = {p.stem for p in (ROOT / "services/dispatch/domain").glob("*.py")}
    # A concept of one module stays a module (the project register, residents as callers).
    assert flat == {"__init__", "commands", "project", "residents"}
