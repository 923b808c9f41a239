"""Hooks see every event, may adjust each request, and receive each turn whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from agentkit import Agent, tool
from agentkit.events import Event
from agentkit.exceptions import MaxTurnsExceeded
from agentkit.hooks import RunHooks, RunInfo
from agentkit.messages import AssistantMessage, Message, ToolMessage, UserMessage
from agentkit.models.abstract import ModelRequest
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


class Recorder(RunHooks):
    """Keeps what the hook points saw."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.turns: list[list[str]] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event.kind)

    async def after_turn(self, messages: Sequence[Message], info: RunInfo) -> None:
        self.turns.append([m.role for m in messages])


async def test_after_turn_receives_each_turn_whole() -> None:
    """Turn 1 brings the prompt, the tool call and its result; turn 2 the answer."""
    recorder = Recorder()
    model = ScriptedModel([calls(("ping", {}), ("ping", {})), "done"])
    await Agent(model, tools=[ping], instructions="sys", hooks=[recorder]).run("go")
    assert recorder.turns == [["user", "assistant", "tool", "tool"], ["assistant"]]
    assert recorder.events[0] == "run_started"
    assert recorder.events[-1] == "final_result"


async def test_before_model_call_can_change_the_request() -> None:
    """A hook's changed request is what the model receives."""

    class Nudge(RunHooks):
        async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
            return replace(request, messages=(*request.messages, UserMessage(content=f"turn {info.turn}")))

    model = ScriptedModel(["ok"])
    await Agent(model).run("hi", hooks=[Nudge()])
    last = model.requests[0].messages[-1]
    assert isinstance(last, UserMessage)
    assert last.content == "turn 1"


async def test_failed_run_commits_its_last_turn_and_reports_failure() -> None:
    """A run that hits max_turns still hands its messages to the hooks and emits run_failed."""
    recorder = Recorder()
    model = ScriptedModel([calls(("ping", {})), calls(("ping", {}))])
    with pytest.raises(MaxTurnsExceeded):
        await Agent(model, tools=[ping], max_turns=2, hooks=[recorder]).run("go")
    assert recorder.turns == [["user", "assistant", "tool"], ["assistant", "tool"]]
    assert recorder.events[-1] == "run_failed"
    assert isinstance(model.requests[1].messages[-1], ToolMessage)
    assert isinstance(model.requests[1].messages[-2], AssistantMessage)


async def test_each_point_calls_only_the_hooks_that_override_it_in_order() -> None:
    """Hooks are grouped per loop point once per run; inherited overrides count, order is kept."""
    from agentkit._loop_state import HookPoints  # noqa: PLC0415 - the loop's own grouping

    seen: list[str] = []

    class Before(RunHooks):
        async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
            seen.append(f"{type(self).__name__}:{info.turn}")
            return request

    class InheritsBefore(Before):
        pass

    observer = Recorder()
    first, second = Before(), InheritsBefore()
    points = HookPoints.of((first, observer, second))
    assert points.before_model_call == (first, second)
    assert points.after_turn == (observer,)
    assert points.after_model_call == points.on_model_error == ()

    agent = Agent(ScriptedModel([calls(("ping", {})), "done"]), tools=[ping], hooks=[first, observer])
    await agent.run("go", hooks=[second])
    assert seen == ["Before:1", "InheritsBefore:1", "Before:2", "InheritsBefore:2"]
    assert observer.turns == [["user", "assistant", "tool"], ["assistant"]]
