"""The events' own module: typed fields a type checker follows, and the old import path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentkit.events
import agentkit.messages
from agentkit import Agent
from agentkit.events import (
    Event,
    FinalResultEvent,
    ModelCallFinished,
    ModelCallStarted,
    RunPaused,
    RunStarted,
)
from agentkit.model_types import ModelRequest, ModelResponse
from agentkit.models.function import ScriptedModel
from agentkit.result import RunResult
from agentkit.run_state import RunState
from agentkit.tool import tool
from tests.builders import calls

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent

_USER_CODE = """
from agentkit.events import Event, FinalResultEvent, ModelCallFinished, PlanUpdated, RunPaused, RunStarted


def handle(event: Event) -> None:
    match event:
        case RunStarted(tools=tools):
            reveal_type(tools)
        case ModelCallFinished(request=request, response=response):
            reveal_type(request)
            reveal_type(response)
        case FinalResultEvent(result=result):
            reveal_type(result)
        case RunPaused(pending=pending, state=state):
            reveal_type(pending)
            reveal_type(state)
        case PlanUpdated(plan=plan):
            reveal_type(plan)
            plan.no_such_field
"""


def test_every_event_name_keeps_its_old_import_path() -> None:
    """Each name of agentkit.events is the same object under agentkit.messages, where it lived before."""
    for name in agentkit.events.__all__:
        assert getattr(agentkit.messages, name) is getattr(agentkit.events, name), name
        assert name in agentkit.messages.__all__


def test_mypy_strict_sees_the_real_types_of_matched_event_fields(tmp_path: Path) -> None:
    """Under mypy --strict a user's match on events gets ModelRequest, RunState, Plan..., not Any."""
    snippet = tmp_path / "user_code.py"
    snippet.write_text(textwrap.dedent(_USER_CODE))
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter running mypy
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    out = result.stdout
    for revealed in (
        'Revealed type is "tuple[agentkit.model_types.ToolDefinition, ...]"',
        'Revealed type is "agentkit.model_types.ModelRequest"',
        'Revealed type is "agentkit.model_types.ModelResponse | None"',
        'Revealed type is "agentkit.result.RunResult[Any]"',
        'Revealed type is "tuple[agentkit.approval.PendingCall, ...]"',
        'Revealed type is "agentkit.run_state.RunState"',
        'Revealed type is "agentkit.planning.Plan"',
    ):
        assert revealed in out, out
    assert '"Plan" has no attribute "no_such_field"' in out, out


async def test_a_run_emits_values_of_the_annotated_types() -> None:
    """The loop fills the typed fields with what the annotations say (requests, responses, result, state)."""

    @tool(requires_approval=True)
    def wipe(path: str) -> str:
        """Delete a file."""
        return f"wiped {path}"

    agent = Agent(ScriptedModel([calls(("wipe", {"path": "old.log"}))]), tools=[wipe])
    events: list[Event] = []
    async with agent.stream("clean up") as run:
        async for event in run:
            events.append(event)
    started = next(e for e in events if isinstance(e, RunStarted))
    assert [t.name for t in started.tools] == ["wipe"]
    assert isinstance(next(e for e in events if isinstance(e, ModelCallStarted)).request, ModelRequest)
    finished = next(e for e in events if isinstance(e, ModelCallFinished))
    assert isinstance(finished.response, ModelResponse)
    paused = next(e for e in events if isinstance(e, RunPaused))
    assert isinstance(paused.state, RunState)
    assert [p.call.name for p in paused.pending] == ["wipe"]
    final = next(e for e in events if isinstance(e, FinalResultEvent))
    assert isinstance(final.result, RunResult)
