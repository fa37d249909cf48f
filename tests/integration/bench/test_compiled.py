"""bench/compiled.py builds its compiled copy for real and checks the copy imports the
extension, not the source; its comparison is each copy's medians and their ratio (no
timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.compiled import (
    ROOT,
    CompileFailed,
    cannot_build,
    compare,
    compile_modules,
    copy_project,
    table,
)

SMALL = ("services/dispatch/domain/sla/emitter.py",)
"""One module of the report path with few imports: a build of seconds."""


# A machine with Python alone (the README's promise) has no C compiler: mypyc cannot build.
MISSING = cannot_build()
needs_a_compiler = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


@needs_a_compiler
def test_a_copy_compiles_its_module_and_imports_the_extension(tmp_path: Path) -> None:
    copy = copy_project(tmp_path / "copy")

    compile_modules(copy, SMALL)

    built = list((copy / "services/dispatch/domain/sla").glob("emitter.*.so"))
    assert len(built) == 1, built
    loaded = subprocess.run(
        [sys.executable, "-c", "import services.dispatch.domain.sla.emitter as m; print(m.__file__)"],
        cwd=copy, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(copy)},
    )  # fmt: skip
    assert loaded.stdout.strip() == str(built[0])
    # The project itself is left as it was: only the copy holds a build.
    assert not list((ROOT / "services/dispatch/domain/sla").glob("emitter.*.so"))


def test_a_failed_build_stops_the_bench_with_mypyc_s_words(tmp_path: Path) -> None:
    copy = copy_project(tmp_path / "copy")

    with pytest.raises(CompileFailed, match="mypyc failed"):
        compile_modules(copy, ("services/dispatch/domain/sla/no_such_module.py",))


def test_a_machine_without_a_c_compiler_is_told_what_mypyc_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")

    assert "mypyc needs a C compiler" in str(cannot_build())


def test_the_comparison_is_each_copy_s_median_and_compiled_over_interpreted() -> None:
    def parts(deciding: float, storing: float) -> dict[str, float]:
        relaying = 0.2
        return {
            "deciding_ms": deciding,
            "storing_ms": storing,
            "relaying_ms": relaying,
            "sum_ms": deciding + storing + relaying,
        }

    comparison = compare(
        [parts(0.5, 0.5), parts(0.7, 0.5), parts(0.6, 0.6)],
        [parts(0.3, 0.5), parts(0.3, 0.4), parts(0.4, 0.5)],
    )

    assert comparison.interpreted["deciding_ms"] == 0.6
    assert comparison.compiled["deciding_ms"] == 0.3
    assert comparison.ratio["deciding_ms"] == 0.5
    assert comparison.ratio["storing_ms"] == 1.0
    assert "| deciding | 0.600 | 0.300 | 0.500 |" in table(comparison)
