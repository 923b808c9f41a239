"""The loop's key behaviours over both wire formats, each against its own loopback server.

Every test runs twice: KimiModel on the fake Chat Completions server, and AnthropicCompatModel on
the fake Messages server. Both servers play the same scripted :class:`Reply` values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.exceptions import UsageLimitExceeded
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models import KIMI_PROFILE, KimiModel, Model
from agentkit.models.anthropic_compat import MOONSHOT_ANTHROPIC_PROFILE, AnthropicCompatModel
from agentkit.testing import FakeAnthropicServer, FakeKimiServer, Reply
from agentkit.usage import UsageLimits
from tests.builders import Rendezvous

pytestmark = pytest.mark.anyio


@dataclass(frozen=True, kw_only=True, slots=True)
class Provider:
    """A model wired to its loopback server, and how to script that server."""

    model: Model
    add: Callable[..., None]
    requests: Callable[[], list[Any]]


@pytest.fixture(params=["kimi", "anthropic"])
async def provider(request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    """Each wire format with its own server; the test fails if the server saw a problem."""
    if request.param == "kimi":
        profile = replace(KIMI_PROFILE, retry=replace(KIMI_PROFILE.retry, base_delay_s=0.001))
        with FakeKimiServer() as kimi_server:
            async with KimiModel(
                "kimi-k2-0905-preview", base_url=kimi_server.base_url, api_key="sk-loop", profile=profile
            ) as kimi:
                yield Provider(model=kimi, add=kimi_server.add, requests=lambda: kimi_server.requests)
        assert kimi_server.problems == []
    else:
        profile = replace(
            MOONSHOT_ANTHROPIC_PROFILE, retry=replace(MOONSHOT_ANTHROPIC_PROFILE.retry, base_delay_s=0.001)
        )
        with FakeAnthropicServer() as messages_server:
            async with AnthropicCompatModel(
                "kimi-k2-0905-preview", base_url=messages_server.base_url, api_key="sk-loop", profile=profile
            ) as anthropic:
                yield Provider(
                    model=anthropic, add=messages_server.add, requests=lambda: messages_server.requests
                )
        assert messages_server.problems == []


@tool
async def double(n: int) -> int:
    """Double a number.

    Args:
        n: The number.
    """
    return 2 * n


class Answer(BaseModel):
    """A structured final answer."""

    total: int


async def test_parallel_calls_run_concurrently_and_results_keep_order(provider: Provider) -> None:
    """Three calls in one turn are in flight at once, and their results follow the model's order."""
    meeting = Rendezvous(3)

    @tool
    async def meet_double(n: int) -> int:
        """Double a number once all three calls have started.

        Args:
            n: The number.
        """
        await meeting.arrive()
        return 2 * n

    provider.add(
        Reply.tool_calls(("meet_double", {"n": 1}), ("meet_double", {"n": 2}), ("meet_double", {"n": 3})),
        Reply.text("2, 4, 6"),
    )
    result = await Agent(provider.model, tools=[meet_double]).run("double 1, 2, 3")
    assistant = result.messages[1]
    assert isinstance(assistant, AssistantMessage)
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in results] == [c.id for c in assistant.tool_calls]
    assert [m.content for m in results] == ["2", "4", "6"]
    assert result.output == "2, 4, 6"


async def test_bad_arguments_go_back_to_the_model_as_errors(provider: Provider) -> None:
    """Arguments failing the schema become an error result; the model fixes them and the run ends."""
    provider.add(
        Reply.tool_calls(("double", {"n": "two"})),
        Reply.tool_calls(("double", {"n": 2})),
        Reply.text("4"),
    )
    result = await Agent(provider.model, tools=[double]).run("double two")
    first, second = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert first.is_error
    assert "Invalid arguments for tool 'double'" in first.content
    assert (second.is_error, second.content) == (False, "4")
    assert result.output == "4"
    assert len(provider.requests()) == 3


async def test_structured_output_through_the_final_result_tool(provider: Provider) -> None:
    """An output_type run ends when the model calls final_result with valid arguments."""
    provider.add(
        Reply.tool_calls(("final_result", {"total": "many"})),
        Reply.tool_calls(("final_result", {"total": 6})),
    )
    result = await Agent(provider.model, output_type=Answer).run("sum 1..3")
    assert result.output == Answer(total=6)
    invalid = result.messages[2]
    assert isinstance(invalid, ToolMessage)
    assert invalid.is_error


async def test_request_limit_ends_the_run_with_its_messages(provider: Provider) -> None:
    """A requests limit stops the run before a second model call, keeping the conversation."""
    provider.add(Reply.tool_calls(("double", {"n": 1})))
    agent = Agent(provider.model, tools=[double], usage_limits=UsageLimits(requests=1))
    with pytest.raises(UsageLimitExceeded) as info:
        await agent.run("double 1")
    assert [m.role for m in info.value.messages] == ["user", "assistant", "tool"]
    assert len(provider.requests()) == 1


async def test_usage_and_cost_add_up_over_turns(provider: Provider) -> None:
    """Usage sums the reported tokens of every turn and the cost is priced per turn."""
    provider.add(
        Reply.tool_calls(("double", {"n": 1}), usage=(1000, 100, 400)),
        Reply.text("2", usage=(1200, 10, 0)),
    )
    result = await Agent(provider.model, tools=[double]).run("double 1")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cached_tokens) == (
        2200,
        110,
        400,
    )
    assert result.usage.requests == 2
    expected = (400 * 0.15 + 1800 * 0.60 + 110 * 2.50) / 1_000_000
    assert result.cost_usd == pytest.approx(expected)
