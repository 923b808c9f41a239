"""Conformance tests: agentkit against real counterparts we did not write (servers, clients).

``make conformance`` installs the counterparts from the package registries and runs this
folder. A plain ``pytest`` (``make test``) leaves it out: the folder is collected only when it
is named on the command line (``pytest tests/conformance``) or ``AGENTKIT_CONFORMANCE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
