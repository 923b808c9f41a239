"""Naming an agent: help and errors (tests/test_docs_blocks.py runs every form docs/cli.md lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._cli import run_cli


def test_a_form_naming_nothing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A module that does not exist is one error line listing the forms, exit status 2, no traceback."""
    done = run_cli("run", "no_such_agent:build", "hi", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "path/to/file.py:agent or package.module:agent" in done.stderr


@pytest.mark.parametrize("command", ["run", "replay", "batch", "eval"])
def test_every_command_taking_an_agent_describes_the_same_forms(command: str) -> None:
    """The --help of each command that takes an agent names the file form and the module form."""
    done = run_cli(command, "--help", env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr
    assert "path/to/file.py:name or package.module:name" in done.stdout
