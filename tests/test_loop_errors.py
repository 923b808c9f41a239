"""Bad tool calls never crash a run: each becomes an error message the model can act on."""

from __future__ import annotations

import argparse
import contextlib
import io

import anyio
import pytest

from agentkit import Agent, ModelRetry, tool
from agentkit.approval import approve_all
from agentkit.events import ApprovalRequested, Event
from agentkit.exceptions import ToolRetriesExceeded
from agentkit.hooks import RunHooks
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio

ran: list[int] = []


@tool
def book(nights: int, city: str) -> str:
    """Book a hotel.

    Args:
        nights: Number of nights.
        city: The city.
    """
    ran.append(nights)
    return f"booked {nights} nights in {city}"


async def first_result(raw_arguments: str, name: str = "book") -> ToolMessage:
    """Run one call with the given raw arguments, then a final answer; return the tool message."""
    model = ScriptedModel([calls((name, raw_arguments)), "sorry"])
    result = await Agent(model, tools=[book]).run("book it")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert result.output == "sorry"
    return message


async def test_malformed_json_becomes_an_error_result() -> None:
    """Arguments that are not JSON produce an error result naming the tool; the tool does not run."""
    ran.clear()
    message = await first_result('{"nights": 2, "city": ')
    assert message.is_error
    assert "book" in message.content
    assert "JSON" in message.content
    assert ran == []


async def test_double_encoded_json_is_reported() -> None:
    """A JSON string that holds JSON is reported to the model instead of being run."""
    ran.clear()
    message = await first_result('"{\\"nights\\": 2, \\"city\\": \\"Oslo\\"}"')
    assert message.is_error
    assert ran == []


async def test_schema_violation_names_the_parameter() -> None:
    """Arguments failing the schema name the offending parameter."""
    ran.clear()
    message = await first_result('{"nights": "two", "city": "Oslo"}')
    assert message.is_error
    assert "nights" in message.content
    assert ran == []


async def test_unknown_tool_lists_the_available_ones() -> None:
    """A call to a tool that does not exist gets an error listing the real tools."""
    message = await first_result("{}", name="teleport")
    assert message.is_error
    assert "teleport" in message.content
    assert "book" in message.content


async def test_empty_tool_name_is_an_error_not_a_crash() -> None:
    """A malformed call with an empty name is answered, not raised."""
    message = await first_result("{}", name="")
    assert message.is_error
    assert "empty name" in message.content


async def test_tool_exception_is_reported_and_the_run_goes_on() -> None:
    """An exception inside a tool becomes an error result with its type and message."""

    @tool
    def explode() -> str:
        """Always fails."""
        raise ValueError("bad input file")

    model = ScriptedModel([calls(("explode", {})), "recovered"])
    result = await Agent(model, tools=[explode]).run("go")
    message = result.messages[-2]
    assert isinstance(message, ToolMessage)
    assert message.is_error
    assert "ValueError: bad input file" in message.content
    assert result.output == "recovered"


async def test_tool_timeout_is_reported() -> None:
    """A tool past its timeout is stopped and reported as timed out."""

    @tool(timeout=0.05)
    async def hang() -> str:
        """Never finishes in time."""
        await anyio.sleep(5)
        return "late"

    model = ScriptedModel([calls(("hang", {})), "gave up"])
    result = await Agent(model, tools=[hang]).run("go")
    message = result.messages[-2]
    assert isinstance(message, ToolMessage)
    assert message.is_error
    assert "timed out" in message.content


async def test_model_retry_message_reaches_the_model() -> None:
    """ModelRetry raised by a tool sends its message back as the tool's error result."""

    @tool
    def pick(n: int) -> str:
        """Pick a number."""
        if n > 3:
            raise ModelRetry("n must be at most 3")
        return "picked"

    model = ScriptedModel([calls(("pick", {"n": 9})), calls(("pick", {"n": 2})), "ok"])
    result = await Agent(model, tools=[pick]).run("go")
    errors = [m.content for m in result.messages if isinstance(m, ToolMessage) and m.is_error]
    assert errors == ["n must be at most 3"]
    assert result.output == "ok"


async def test_retry_budget_ends_the_run_with_the_messages() -> None:
    """A tool failing more often than its retries ends the run, keeping every message."""

    @tool(retries=1)
    def flaky() -> str:
        """Always fails."""
        raise RuntimeError("nope")

    model = ScriptedModel([calls(("flaky", {})), calls(("flaky", {})), "never"])
    with pytest.raises(ToolRetriesExceeded) as info:
        await Agent(model, tools=[flaky]).run("go")
    messages = info.value.messages
    assert sum(isinstance(m, ToolMessage) for m in messages) == 2
    assert sum(isinstance(m, AssistantMessage) for m in messages) == 2
    assert info.value.run_id


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_tool_calling_sys_exit_is_a_tool_error_not_a_process_exit(is_async: bool) -> None:
    """SystemExit from a tool (argparse on bad model input does it) ends the call, not the run."""

    def parse(argv: str) -> str:
        """Parse command-line arguments."""
        parser = argparse.ArgumentParser(prog="report", exit_on_error=False)
        parser.add_argument("--year", type=int, required=True)
        return str(parser.parse_args(argv.split()).year)

    async def parse_async(argv: str) -> str:
        """Parse command-line arguments."""
        return parse(argv)

    parser_tool = tool(parse_async if is_async else parse, name="parse")
    model = ScriptedModel([calls(("parse", {"argv": "--month 3"})), "I will fix the arguments."])
    with contextlib.redirect_stderr(io.StringIO()):  # argparse prints its usage before exiting
        result = await Agent(model, tools=[parser_tool]).run("go")
    message = result.messages[-2]
    assert isinstance(message, ToolMessage)
    assert message.is_error
    assert message.content == "Tool 'parse' failed: it tried to exit (SystemExit: 2)"
    assert result.output == "I will fix the arguments."


def _nested(depth: int) -> str:
    return '{"city": ' + "[" * depth + "]" * depth + ', "nights": 1}'


@pytest.mark.parametrize("depth", [65, 1000])
@pytest.mark.parametrize("requires_approval", [False, True])
async def test_deeply_nested_arguments_are_a_tool_error(depth: int, requires_approval: bool) -> None:
    """Arguments nested past the cap are refused as invalid, also for a tool gated by approval."""
    ran.clear()
    gated = tool(book.function, name="book", requires_approval=requires_approval)
    events: list[Event] = []

    class Collect(RunHooks):
        def on_event(self, event: Event) -> None:
            events.append(event)

    model = ScriptedModel([calls(("book", _nested(depth))), "sorry"])
    result = await Agent(model, tools=[gated], approve=approve_all).run("go", hooks=[Collect()])
    message = result.messages[-2]
    assert isinstance(message, ToolMessage)
    assert message.is_error
    assert "more than 64 levels deep" in message.content
    assert ran == []
    assert not any(isinstance(e, ApprovalRequested) for e in events)


async def test_arguments_at_the_depth_cap_are_still_validated_normally() -> None:
    """Nesting up to the cap reaches the schema check, which names the offending field."""
    message = await first_result(_nested(63))
    assert message.is_error
    assert "city:" in message.content
