"""The planner loop through the public API: turns, tool results, ordering and final answers."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent, RunContext, StopRun, tool
from agentkit.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage
from agentkit.models.abstract import ModelRequest
from agentkit.models.function import FunctionModel, ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
async def slow_echo(text: str, delay: float) -> str:
    """Echo text after a delay.

    Args:
        text: What to echo.
        delay: Seconds to wait.
    """
    await anyio.sleep(delay)
    return text


async def test_plain_answer_ends_the_run() -> None:
    """A reply without tool calls is the final answer, after one request."""
    agent = Agent(ScriptedModel(["Bonjour"]), instructions="Be brief.")
    result = await agent.run("Say hello in French")
    assert result.output == "Bonjour"
    assert result.usage.requests == 1
    assert result.turns == 1
    assert [type(m) for m in result.messages] == [SystemMessage, UserMessage, AssistantMessage]
    assert result.new_messages == result.messages[1:]


async def test_results_follow_the_model_order_not_completion_order() -> None:
    """Tool messages are appended in the order the model asked, with each call's exact id."""
    model = ScriptedModel(
        [
            calls(
                ("slow_echo", {"text": "first", "delay": 0.2}),
                ("slow_echo", {"text": "second", "delay": 0.0}),
            ),
            "ok",
        ]
    )
    result = await Agent(model, tools=[slow_echo]).run("go")
    tool_messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assistant = result.messages[1]
    assert isinstance(assistant, AssistantMessage)
    assert [m.content for m in tool_messages] == ["first", "second"]
    assert [m.tool_call_id for m in tool_messages] == [c.id for c in assistant.tool_calls]
    assert [c.id for c in assistant.tool_calls] == ["functions.slow_echo:0", "functions.slow_echo:1"]


async def test_tool_results_reach_the_next_request() -> None:
    """The second model request carries the assistant tool calls and their results."""
    model = ScriptedModel([calls(("slow_echo", {"text": "hi", "delay": 0})), "done"])
    await Agent(model, tools=[slow_echo]).run("go")
    second = model.requests[1].messages
    assert isinstance(second[-2], AssistantMessage)
    assert second[-1] == ToolMessage(tool_call_id="functions.slow_echo:0", name="slow_echo", content="hi")
    assert [d.name for d in model.requests[0].tools] == ["slow_echo"]


async def test_run_context_carries_deps_and_call_details() -> None:
    """A tool asking for RunContext receives the run's deps, turn and its own call id."""
    seen: list[tuple[str, int, str | None]] = []

    @tool
    def whoami(ctx: RunContext[str]) -> str:
        """Tell who the user is."""
        seen.append((ctx.deps, ctx.turn, ctx.tool_call_id))
        return ctx.deps

    model = ScriptedModel([calls(("whoami", {})), "You are alice"])
    result = await Agent(model, tools=[whoami]).run("who am I?", deps="alice")
    assert seen == [("alice", 1, "functions.whoami:0")]
    assert result.output == "You are alice"


async def test_message_history_continues_a_conversation() -> None:
    """A second run continues from the first run's messages without repeating instructions."""
    agent = Agent(ScriptedModel(["one", "two"]), instructions="Count.")
    first = await agent.run("start")
    second = await agent.run("again", message_history=first.messages)
    assert [m.content for m in second.messages if not isinstance(m, ToolMessage)] == [
        "Count.",
        "start",
        "one",
        "again",
        "two",
    ]
    assert second.new_messages_start == len(first.messages)


async def test_stop_run_ends_with_the_tools_output() -> None:
    """A tool raising StopRun ends the run with its output after the batch finishes."""

    @tool
    def finish(answer: str) -> str:
        """Finish now."""
        raise StopRun(answer.upper())

    model = ScriptedModel([calls(("finish", {"answer": "yes"}), ("slow_echo", {"text": "x", "delay": 0}))])
    result = await Agent(model, tools=[finish, slow_echo]).run("go")
    assert result.output == "YES"
    assert sum(isinstance(m, ToolMessage) for m in result.messages) == 2


async def test_tool_choice_applies_until_a_tool_is_called() -> None:
    """A forced tool_choice is sent on the first request and reset once a tool has run."""
    model = ScriptedModel([calls(("slow_echo", {"text": "a", "delay": 0})), "done"])
    await Agent(model, tools=[slow_echo]).run("go", tool_choice="required")
    assert [r.tool_choice for r in model.requests] == ["required", None]


def test_run_sync_returns_the_result() -> None:
    """run_sync runs the agent to completion from synchronous code."""
    result = Agent(ScriptedModel(["sync ok"])).run_sync("hi")
    assert result.output == "sync ok"


async def test_function_model_sees_the_request() -> None:
    """A FunctionModel answers from the request it receives (instructions first)."""

    def reply(request: ModelRequest) -> str:
        first = request.messages[0]
        assert isinstance(first, SystemMessage)
        return f"instructions were: {first.content}"

    result = await Agent(FunctionModel(reply), instructions="be kind").run("hi")
    assert result.output == "instructions were: be kind"
