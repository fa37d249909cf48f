"""pyproject.toml bounds every dependency to the major versions the suite runs on."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def _requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"].values()
    listed = [*project["dependencies"], *(line for extra in extras for line in extra)]
    return [Requirement(line) for line in listed]


def test_every_dependency_has_an_upper_bound_that_the_installed_version_meets() -> None:
    for requirement in _requirements():
        assert any(spec.operator == "<" for spec in requirement.specifier), requirement
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            continue  # an extra this environment did not install (bench)
        assert requirement.specifier.contains(installed, prereleases=True), (
            f"{requirement.name} {installed} is outside {requirement.specifier}"
        )
