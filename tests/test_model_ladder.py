"""ModelLadder: each request goes to the smallest tier that fits; FitContext compacts beyond the largest."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit.exceptions import UserError
from agentkit.memory import FitContext, InMemoryMemory
from agentkit.memory.context import estimate_tokens
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.models import ModelLadder, ModelRequest, ModelResponse, ModelSettings
from agentkit.models.function import FunctionModel
from agentkit.usage import Usage

pytestmark = pytest.mark.anyio


def _priced(name: str, cost_usd: float) -> FunctionModel:
    """A tier that answers with its own name and prices every call at ``cost_usd``."""

    def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            message=AssistantMessage(content=f"from {name}"),
            finish_reason="stop",
            usage=Usage(input_tokens=estimate_tokens(request.messages), output_tokens=3, requests=1),
            model_name=name,
            cost_usd=cost_usd,
        )

    return FunctionModel(answer, model_name=name)


def _ladder() -> tuple[FunctionModel, FunctionModel, ModelLadder]:
    small, big = _priced("small", 0.001), _priced("big", 0.05)
    return small, big, ModelLadder(tiers=[(small, 2_000), (big, 8_000)], default_max_tokens=200)


async def test_a_short_prompt_goes_to_the_small_tier_and_a_long_one_to_the_big() -> None:
    """Agent runs through the ladder: each answer comes from, and is billed by, the tier that fits."""
    small, big, ladder = _ladder()
    agent = Agent(ladder)
    short = await agent.run("Hi!")
    long = await agent.run("word " * 3_000)  # ~4,300 estimated tokens: past the small window
    assert short.output == "from small"
    assert short.cost_usd == pytest.approx(0.001)
    assert long.output == "from big"
    assert long.cost_usd == pytest.approx(0.05)
    assert (len(small.requests), len(big.requests)) == (1, 1)
    assert ladder.model_name == "big"
    assert ladder.context_window == 8_000


async def test_max_tokens_counts_toward_the_fit() -> None:
    """A short prompt (~5 tokens) with a large answer budget needs the big tier (prompt + max_tokens)."""
    _, _, ladder = _ladder()
    request = ModelRequest(messages=[UserMessage(content="Hi!")], settings=ModelSettings(max_tokens=1_999))
    assert (await ladder.complete(request)).model_name == "big"
    request = ModelRequest(messages=[UserMessage(content="Hi!")], settings=ModelSettings(max_tokens=1_900))
    assert (await ladder.complete(request)).model_name == "small"


async def test_streaming_goes_through_the_chosen_tier() -> None:
    """stream() yields the chosen tier's deltas and its response."""
    _, _, ladder = _ladder()
    events = [e async for e in ladder.stream(ModelRequest(messages=[UserMessage(content="word " * 3_000)]))]
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert final.model_name == "big"


async def test_a_custom_counter_decides() -> None:
    """The counter callable's count, not the local estimate, chooses the tier."""
    small, big = _priced("small", 0.0), _priced("big", 0.0)

    async def count(messages: object, tools: object) -> int:
        return 1_900

    ladder = ModelLadder(tiers=[(small, 2_000), (big, 8_000)], counter=count, default_max_tokens=200)
    assert (await ladder.complete(ModelRequest(messages=[UserMessage(content="Hi")]))).model_name == "big"


async def test_fit_context_compacts_only_beyond_the_largest_tier() -> None:
    """With FitContext(model=ladder): a mid-size history climbs the ladder whole, a huge one is compacted."""
    small, big, ladder = _ladder()
    memory = InMemoryMemory()
    for index in range(12):  # ~12 x 290 tokens: past the small tier, within 85% of the big one
        await memory.append("mid", [UserMessage(content=f"note {index} " + "x" * 1_000)])
    for index in range(40):  # ~40 x 290 tokens: past even the big tier
        await memory.append("huge", [UserMessage(content=f"note {index} " + "x" * 1_000)])
    fit = FitContext(model=ladder, default_max_tokens=200)
    agent = Agent(ladder, memory=memory, hooks=[fit])
    await agent.run("and?", session="mid")
    assert len(big.requests[0].messages) == 12 + 1  # the whole history, no compaction
    await agent.run("and?", session="huge")
    sent = big.requests[1].messages
    assert len(sent) < 40 + 1
    assert sent[-1] == UserMessage(content="and?")
    assert estimate_tokens(sent) + 200 <= 8_000 * 0.85
    assert small.requests == []


def test_tiers_must_grow() -> None:
    """Windows that do not strictly grow are refused."""
    small, big, _ = _ladder()
    with pytest.raises(UserError, match="strictly growing"):
        ModelLadder(tiers=[(small, 8_000), (big, 8_000)])
