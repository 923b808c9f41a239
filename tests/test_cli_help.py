"""``agentkit ... --help`` reads naturally: flags show no value type and no needless ``--no-`` twin."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agentkit.cli import LAZY_COMMANDS, app, load_command

RUNNER = CliRunner(env={"COLUMNS": "200"})


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for name, spec in LAZY_COMMANDS.items():
        paths.append([name])
        if spec.group:
            paths += [[name, sub] for sub in getattr(load_command(name), "commands", {})]
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "agentkit")
def test_help_shows_no_bool_placeholder(path: list[str]) -> None:
    """Every help page lists its flags without typer's ``<bool>`` (it was on every flag, --help included)."""
    result = RUNNER.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output
    for twin in ("--no-debug", "--no-lenient", "--no-retry-failed"):
        assert twin not in result.output


def test_flags_and_values_side_by_side() -> None:
    """A value option keeps its type, a flag's row is its name and its help."""
    output = RUNNER.invoke(app, ["run", "--help"]).output
    rows = {line.split()[1]: line for line in output.splitlines() if line.startswith("│ --")}
    assert "<path>" in rows["--trace"]
    assert rows["--stream"].split()[2:4] == ["Print", "the"]
    assert rows["--debug"].split()[2:4] == ["Show", "the"]
