"""Tools start mid-stream: a streamed call runs as soon as its arguments are complete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.events import Event, ModelCallFinished, ToolCallFinished, ToolCallStarted, TurnFinished
from agentkit.exceptions import ModelResponseError, UsageLimitExceeded
from agentkit.hooks import RunHooks, RunInfo
from agentkit.messages import ToolMessage
from agentkit.models import KIMI_PROFILE, KimiModel
from agentkit.models.abstract import ModelResponse
from agentkit.testing import FakeKimiServer, Reply
from agentkit.usage import UsageLimits

pytestmark = pytest.mark.anyio

FAST = replace(KIMI_PROFILE, retry=replace(KIMI_PROFILE.retry, max_retries=0))
RAN: list[str] = []


@tool
async def fetch(key: str, seconds: float = 0.0) -> str:
    """Fetch a value.

    Args:
        key: What to fetch.
        seconds: How long fetching takes.
    """
    RAN.append(key)
    await anyio.sleep(seconds)
    return f"value of {key}"


@tool(sequential=True)
async def commit(key: str) -> str:
    """Commit alone.

    Args:
        key: What to commit.
    """
    RAN.append(f"commit {key}")
    return "committed"


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


@pytest.fixture
async def kimi(fake_kimi: FakeKimiServer) -> AsyncIterator[KimiModel]:
    """A KimiModel on the fake server (no retries), closed after the test."""
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-test", profile=FAST) as model:
        yield model


def _paced(*calls: tuple[str, dict[str, object]], delay: float = 0.02, cut: int | None = None) -> Reply:
    return replace(Reply.tool_calls(*calls), chunk_delay_s=delay, cut_stream_after=cut)


async def _events(agent: Agent[str], prompt: str) -> list[Event]:
    async with agent.stream(prompt) as run:
        return [e async for e in run]


def _end_of_stream(events: list[Event]) -> int:
    return next(i for i, e in enumerate(events) if isinstance(e, ModelCallFinished))


def _first_start(events: list[Event], name: str) -> int:
    return next(i for i, e in enumerate(events) if isinstance(e, ToolCallStarted) and e.call.name == name)


async def test_calls_start_before_the_streamed_message_ends(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """The first calls start while the model is still streaming the later ones."""
    fake_kimi.add(
        _paced(("fetch", {"key": "a"}), ("fetch", {"key": "b"}), ("fetch", {"key": "c"})), Reply.text("ok")
    )
    events = await _events(Agent(kimi, tools=[fetch]), "go")
    end_of_stream = _end_of_stream(events)
    started = [i for i, e in enumerate(events) if isinstance(e, ToolCallStarted)]
    assert len(started) == 3
    assert started[0] < end_of_stream
    assert started[1] < end_of_stream


async def test_results_keep_the_models_order_when_early_calls_finish_out_of_order(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """A slow first call and a fast second one still give results in the model's order."""
    fake_kimi.add(
        _paced(("fetch", {"key": "slow", "seconds": 0.2}), ("fetch", {"key": "fast"})), Reply.text("ok")
    )
    async with Agent(kimi, tools=[fetch]).stream("go") as run:
        async for _ in run:
            pass
    results = [m.content for m in run.result.messages if isinstance(m, ToolMessage)]
    assert results == ["value of slow", "value of fast"]
    assert run.result.usage.tool_calls == 2


async def test_sequential_tools_and_the_calls_after_them_wait_for_the_message(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """A sequential call is a barrier: neither it nor the calls after it start mid-stream."""
    fake_kimi.add(
        _paced(
            ("fetch", {"key": "a"}),
            ("commit", {"key": "x"}),
            ("fetch", {"key": "b"}),
            ("fetch", {"key": "c"}),
        ),
        Reply.text("ok"),
    )
    events = await _events(Agent(kimi, tools=[fetch, commit]), "go")
    end_of_stream = _end_of_stream(events)
    assert _first_start(events, "fetch") < end_of_stream
    assert _first_start(events, "commit") > end_of_stream
    assert RAN == ["a", "commit x", "b", "c"]


async def test_a_stream_cut_after_a_call_started_raises_the_model_error_itself(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """A stream failing mid-message raises its own error (not a group) and closes every call."""
    fake_kimi.add(
        _paced(
            ("fetch", {"key": "a", "seconds": 5}),
            ("fetch", {"key": "b"}),
            ("fetch", {"key": "c"}),
            cut=8,
        )
    )
    with anyio.fail_after(3), pytest.raises(ModelResponseError) as caught:
        await _events(Agent(kimi, tools=[fetch]), "go")
    assert RAN == ["a"]  # started mid-stream, then cancelled with the run
    assert caught.value.messages[-1].role == "user"


async def test_early_starts_respect_the_tool_calls_limit(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """No more calls start early than the run's tool_calls limit allows."""
    fake_kimi.add(_paced(("fetch", {"key": "a"}), ("fetch", {"key": "b"}), ("fetch", {"key": "c"})))
    agent = Agent(kimi, tools=[fetch], usage_limits=UsageLimits(tool_calls=1))
    with pytest.raises(UsageLimitExceeded):
        await _events(agent, "go")
    assert len(RAN) <= 1


async def test_run_without_streaming_starts_calls_after_the_message(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """agent.run (no stream) keeps waiting for the whole message before running calls."""
    fake_kimi.add(Reply.tool_calls(("fetch", {"key": "a"}), ("fetch", {"key": "b"})), Reply.text("ok"))
    seen: list[str] = []

    class Order(RunHooks):
        def on_event(self, event: Event) -> None:
            seen.append(event.kind)

    result = await Agent(kimi, tools=[fetch]).run("go", hooks=[Order()])
    assert result.output == "ok"
    assert seen.index("tool_call_started") > seen.index("model_call_finished")


async def test_a_call_started_early_but_changed_by_a_hook_ends_within_its_turn(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """A launch the final message no longer matches runs again; the turn waits for both before it ends."""
    fake_kimi.add(_paced(("fetch", {"key": "a", "seconds": 0.3})), Reply.text("ok"))

    class Edit(RunHooks):
        async def after_model_call(self, response: ModelResponse, info: RunInfo) -> ModelResponse:
            calls = tuple(replace(c, arguments='{"key": "b"}') for c in response.message.tool_calls)
            return replace(response, message=replace(response.message, tool_calls=calls))

    async with Agent(kimi, tools=[fetch]).stream("go", hooks=[Edit()]) as run:
        events = [e async for e in run]
    finished = [e.call.arguments for e in events if isinstance(e, ToolCallFinished)]
    turn_one = next(i for i, e in enumerate(events) if isinstance(e, TurnFinished) and e.turn == 1)
    last_finish = max(i for i, e in enumerate(events) if isinstance(e, ToolCallFinished))
    assert RAN == ["a", "b"]
    assert sorted(finished) == ['{"key": "b"}', '{"key":"a","seconds":0.3}']
    assert last_finish < turn_one
    results = [m.content for m in run.result.messages if isinstance(m, ToolMessage)]
    assert results == ["value of b"]
