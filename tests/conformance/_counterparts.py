"""Where ``make conformance`` installs the counterparts, and how a test asks for one.

A counterpart that is missing skips its test on a developer's machine and fails it in CI
(``AGENTKIT_CI=1``): a CI run must never pass by running nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: The install folder (``make conformance`` fills it); ``AGENTKIT_CONFORMANCE_DIR`` moves it.
ROOT = Path(
    os.environ.get("AGENTKIT_CONFORMANCE_DIR") or Path(__file__).resolve().parents[2] / ".conformance"
)
NODE_MODULES = ROOT / "npm" / "node_modules"
PYTHON_BIN = ROOT / "venv" / "bin"


def require(path: Path, what: str) -> Path:
    """``path`` if it exists; otherwise skip (a developer's machine) or fail (CI) naming ``what``."""
    if path.exists():
        return path
    message = f"{what} is not installed at {path}: run `make conformance`"
    if os.environ.get("AGENTKIT_CI") == "1":
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    """The ``node`` executable (the machine's; the packages come from npm)."""
    found = shutil.which("node")
    return str(require(Path(found), "node")) if found else str(require(Path("/usr/bin/node"), "node"))


def npm_script(package: str, script: str) -> Path:
    """A file of an npm package installed by ``make conformance``."""
    return require(NODE_MODULES / package / script, f"npm package {package}")


def python_server(command: str) -> Path:
    """A console script of a PyPI package installed into the conformance virtualenv."""
    return require(PYTHON_BIN / command, f"PyPI package providing {command}")
