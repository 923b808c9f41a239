# Everything runs inside a local virtual environment that the targets create themselves:
# a fresh machine needs only Python 3.11+ and pip.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime-installed

.PHONY: demo test lint typecheck bench venv clean docs

venv: $(STAMP)

# What the demos need (agentkit, its ready-made tools, the demos' data): a quick install.
# Editable installs in "compat" mode are plain path entries that mypy and IDEs follow.
$(RUNTIME): pyproject.toml tools/pyproject.toml examples/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e . -e "./tools[demos]"
	$(BIN)/python -m pip install --quiet --no-deps -e ./examples
	touch $(RUNTIME)

# Everything `make test` and `make docs` need on top: linters, type checker, docs site, test servers.
$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat \
		-e ".[dev]" -e "./tools[demos,test]"
	touch $(STAMP)

## make demo: the concert-trip planner, offline (replays its bundled authored trace; real tools, no key)
demo: $(RUNTIME)
	$(BIN)/python -m examples.trip_planner

## make test: lint, strict type check, then the whole test suite (doctests included)
test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make docs: build the documentation site into site/ in strict mode (broken links and references fail)
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

## make bench: the benchmark harness (installs peer frameworks into .bench-venv on first use)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .bench-venv .mypy_cache .ruff_cache .pytest_cache
