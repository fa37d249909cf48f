# Developer entry points. Everything runs from the project's own virtualenv (.venv),
# created on demand, so a fresh clone needs only Python 3.11 and access to PyPI.

VENV := .venv
BIN := $(VENV)/bin
# The stamp records the last successful install; pip runs again only when
# pyproject.toml is newer than it.
STAMP := $(VENV)/.installed
PYTHON_BOOTSTRAP ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PYTEST_ARGS ?=
# Four test processes: most tests wait on a service, a broker or a database, so four keep
# two cores busy (21 min in one process, 7 in four). The end-to-end tests then run one at
# a time: each starts a whole `wo up` stack on the preferred ports, and two starting at
# once would race for them. Work stealing: a process that runs out of tests takes some
# of another's, so the suite does not wait on one process left with the slow ones.
PYTEST_PARALLEL ?= -n 4 --dist worksteal

.DEFAULT_GOAL := help
.PHONY: help install run test lint format typecheck schemas bench clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install the project with its dev extras

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON_BOOTSTRAP)" ]; then echo "Python 3.11 is required (python3.11 or python3 on PATH)" >&2; exit 1; fi
	@"$(PYTHON_BOOTSTRAP)" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required, found " + sys.version.split()[0])'
	@if [ ! -x "$(BIN)/python" ]; then echo "creating $(VENV) with $(PYTHON_BOOTSTRAP)"; "$(PYTHON_BOOTSTRAP)" -m venv "$(VENV)"; fi
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev]'
	@touch "$(STAMP)"

run: install ## Start the local stack (nats-server and every service) in the foreground
	$(BIN)/wo up

test: install lint typecheck ## Lint, type-check and run every test
	$(BIN)/pytest $(PYTEST_PARALLEL) --ignore=tests/e2e $(PYTEST_ARGS)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS) || [ $$? = 5 ]  # 5: every one deselected

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy (strict; files listed in pyproject.toml)
	$(BIN)/mypy

schemas: install ## Regenerate the JSON Schemas of the public events in docs/events
	$(BIN)/python -m shared.events.schemas docs/events

bench: install ## Run every benchmark under bench/ (modules with a __main__ block)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev,bench]'
	@set -e; found=0; for script in bench/*.py; do \
		grep -q '__name__ == "__main__"' "$$script" || continue; found=1; \
		module="bench.$$(basename "$$script" .py)"; \
		echo "== python -m $$module"; $(BIN)/python -m "$$module"; \
	done; [ $$found = 1 ] || echo "no benchmarks under bench/"

clean: ## Remove the local stack's data (var/), caches and build output; keeps .venv
	rm -rf var build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
