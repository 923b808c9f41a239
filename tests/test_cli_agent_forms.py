"""Every form of naming an agent that docs/cli.md lists works, from the agent file's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli, write_agent

FACTORY_AND_AGENT = """
from agentkit.models import OpenAICompatModel
agent = build(OpenAICompatModel("m", base_url="http://127.0.0.1:9/v1"))
"""


@pytest.mark.parametrize(
    "form",
    [
        "./weather_agent.py:build",
        "weather_agent.py:build",
        "weather_agent:build",
        "weather_agent.py",
        "weather_agent",
    ],
)
def test_each_documented_form_runs_the_agent(tmp_path: Path, form: str) -> None:
    """`agentkit run FORM` from the file's folder loads the agent (a factory gets --base-url's model)."""
    write_agent(tmp_path, FACTORY_AND_AGENT)
    with FakeKimiServer([Reply.text("sunny")]) as server:
        done = run_cli("run", form, "weather?", "--base-url", server.base_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sunny"


def test_a_form_naming_nothing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A module that does not exist is one error line listing the forms, exit status 2, no traceback."""
    done = run_cli("run", "no_such_agent:build", "hi", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "path/to/file.py:agent or package.module:agent" in done.stderr
