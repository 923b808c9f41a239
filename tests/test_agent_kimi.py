"""The whole stack over the wire: Agent + KimiModel + the loopback fake Kimi server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from agentkit import Agent, Tool, tool
from agentkit.events import Event, TextDelta
from agentkit.exceptions import ModelHTTPError
from agentkit.hooks import RunHooks, RunInfo
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models import KIMI_PROFILE, KimiModel
from agentkit.models.abstract import ModelResponse
from agentkit.testing import FakeKimiServer, Reply
from tests.builders import Rendezvous

pytestmark = pytest.mark.anyio

FAST = replace(KIMI_PROFILE, retry=replace(KIMI_PROFILE.retry, base_delay_s=0.001, max_delay_s=0.01))


@tool
async def weather(city: str) -> dict[str, object]:
    """Current weather.

    Args:
        city: City name.
    """
    return {"city": city, "temp_c": 21}


def weather_meeting(parties: int) -> Tool:
    """A ``weather`` tool whose calls each wait until ``parties`` of them are in flight at once."""
    meeting = Rendezvous(parties)

    @tool(name="weather")
    async def meeting_weather(city: str) -> dict[str, object]:
        """Current weather, answered once all the other calls have started.

        Args:
            city: City name.
        """
        await meeting.arrive()
        return {"city": city, "temp_c": 21}

    return meeting_weather


@pytest.fixture
async def kimi(fake_kimi: FakeKimiServer) -> AsyncIterator[KimiModel]:
    """A KimiModel on the fake server, closed after the test."""
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-e2e-test-key", profile=FAST) as model:
        yield model


async def test_parallel_calls_over_the_wire(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """Three calls in one turn are in flight at once; results go back with Kimi's ids, in order."""
    fake_kimi.add(
        Reply.tool_calls(
            ("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"}), ("weather", {"city": "Lima"})
        ),
        Reply.text("Rome is warmest."),
    )
    result = await Agent(kimi, tools=[weather_meeting(3)]).run("Where is it warmest?")
    assert result.output == "Rome is warmest."
    sent = fake_kimi.requests[1].body
    assert sent is not None
    tool_messages = [m for m in sent["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == [
        "functions.weather:0",
        "functions.weather:1",
        "functions.weather:2",
    ]
    assert [m["content"] for m in tool_messages][1] == '{"city":"Rome","temp_c":21}'
    assert result.usage.requests == 2
    assert result.cost_usd > 0


async def test_streamed_run_over_the_wire(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """A streamed run yields the answer's text deltas from SSE and the same result as run()."""
    fake_kimi.add(Reply.tool_calls(("weather", {"city": "Oslo"})), Reply.text("Cold in Oslo, take a coat."))
    events: list[Event] = []
    async with Agent(kimi, tools=[weather]).stream("Oslo?") as run:
        events.extend([event async for event in run])
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Cold in Oslo, take a coat."
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    assert run.result.output == text
    assert fake_kimi.requests[0].body is not None
    assert fake_kimi.requests[0].body["stream"] is True


async def test_malformed_calls_from_the_server_are_answered(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """Bad JSON, double-encoded JSON and an empty name each get an error result; the run finishes."""
    fake_kimi.add(
        Reply.tool_calls(
            ("weather", '{"city": "Oslo"'), ("weather", '"{\\"city\\": \\"Oslo\\"}"'), ("", "{}")
        ),
        Reply.text("Sorry, let me stop here."),
    )
    result = await Agent(kimi, tools=[weather]).run("Oslo?")
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert len(results) == 3
    assert all(m.is_error for m in results)
    assert result.output == "Sorry, let me stop here."


async def test_raw_markup_calls_are_recovered(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """Tool calls left as <|tool_call_begin|> markup in the content are run like real calls."""
    markup = (
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.weather:0<|tool_call_argument_begin|>"
        '{"city": "Lima"}<|tool_call_end|><|tool_calls_section_end|>'
    )
    fake_kimi.add(Reply.text(markup), Reply.text("Lima is mild."))
    result = await Agent(kimi, tools=[weather]).run("Lima?")
    assistant = result.messages[1]
    assert isinstance(assistant, AssistantMessage)
    assert assistant.content is None
    assert [c.id for c in assistant.tool_calls] == ["functions.weather:0"]
    assert result.messages[2] == ToolMessage(
        tool_call_id="functions.weather:0", name="weather", content='{"city":"Lima","temp_c":21}'
    )


async def test_rate_limit_is_retried_inside_a_run(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """A 429 overload is retried by the provider; the run sees only the answer."""
    fake_kimi.add(Reply.error(429, "engine_overloaded_error", "busy"), Reply.text("fine"))
    result = await Agent(kimi).run("hi")
    assert result.output == "fine"
    assert len(fake_kimi.requests) == 2
    assert result.usage.requests == 1


async def test_http_error_ends_the_run_with_messages(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """A non-retryable error mid-run raises ModelHTTPError carrying the conversation so far."""
    fake_kimi.add(
        Reply.tool_calls(("weather", {"city": "Oslo"})),
        Reply.error(429, "exceeded_current_quota_error", "Your account is suspended"),
    )
    with pytest.raises(ModelHTTPError) as info:
        await Agent(kimi, tools=[weather]).run("Oslo?")
    assert info.value.status_code == 429
    assert info.value.error_type == "exceeded_current_quota_error"
    assert [m.role for m in info.value.messages] == ["user", "assistant", "tool"]
    assert len(fake_kimi.requests) == 2


async def test_response_carries_the_wire_request(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """The response records the exact body sent (for traces): here the emulated tool_choice nudge."""
    fake_kimi.add(Reply.tool_calls(("weather", {"city": "Oslo"})), Reply.text("ok"))
    model_calls: list[object] = []

    class Keep(RunHooks):
        async def after_model_call(self, response: ModelResponse, info: RunInfo) -> ModelResponse:
            model_calls.append(response.wire_request)
            return response

    await Agent(kimi, tools=[weather], hooks=[Keep()]).run("Oslo?", tool_choice="required")
    first = model_calls[0]
    assert isinstance(first, dict)
    assert first == fake_kimi.requests[0].body
    assert first["messages"][-1]["content"] == KIMI_PROFILE.tool_choice_required_nudge
    assert "tool_choice" not in first
