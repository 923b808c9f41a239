"""Kimi-K2 features end to end over the loopback fake Kimi server.

Builtin ``$web_search``, thinking-model defaults and ``reasoning_content``, self-hosted repairs,
prefill variants, Agent-level ``tool_choice``, the automatic model ladder and the account helpers.
The ``$web_search`` bodies are authored by us (``"origin": "authored"``) after Moonshot's
documented shape; the fake server plays them byte for byte.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.events import Event, ReasoningDelta
from agentkit.exceptions import UserError
from agentkit.messages import AssistantMessage, Message, ToolMessage, UserMessage
from agentkit.models import (
    KIMI_PROFILE,
    MOONSHOT_V1_LADDER,
    WEB_SEARCH,
    ContextLadder,
    KimiModel,
    LadderTier,
    ModelRequest,
    ModelSettings,
    ToolDefinition,
    estimate_token_count,
    get_balance,
    self_hosted_kimi,
)
from agentkit.testing import FakeKimiServer, Reply
from agentkit.usage import PRICES, Usage, cost_usd

pytestmark = pytest.mark.anyio

FAST = replace(KIMI_PROFILE, retry=replace(KIMI_PROFILE.retry, base_delay_s=0.001, max_delay_s=0.01))
SEARCH_ARGS = '{"search_result":{"search_id":"7ca8c2b1"},"usage":{"total_tokens":2135}}'


@tool
def weather(city: str) -> str:
    """Current weather.

    Args:
        city: City name.
    """
    return f"{city}: 21C"


@pytest.fixture
async def kimi(fake_kimi: FakeKimiServer) -> AsyncIterator[KimiModel]:
    """A KimiModel with $web_search on the fake server."""
    async with KimiModel(
        base_url=fake_kimi.base_url, api_key="sk-feature-test", profile=FAST, builtin_tools=[WEB_SEARCH]
    ) as model:
        yield model


def search_body(model: str) -> bytes:
    """An authored chat.completion in which the model calls $web_search (Moonshot's documented shape)."""
    call = {"index": 0, "id": "t-web_search-7ca8c2b1", "type": "builtin_function"}
    call["function"] = {"name": WEB_SEARCH, "arguments": SEARCH_ARGS}
    message = {"role": "assistant", "content": "", "tool_calls": [call]}
    return orjson.dumps(
        {
            "origin": "authored",
            "id": "chatcmpl-search",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 20, "total_tokens": 140},
        }
    )


def search_stream(model: str) -> bytes:
    """The same $web_search call as an SSE stream (id and name first, then argument fragments)."""
    base = {"id": "chatcmpl-search", "object": "chat.completion.chunk", "model": model}
    first = {"index": 0, "id": "t-web_search-7ca8c2b1", "type": "builtin_function"}
    first["function"] = {"name": WEB_SEARCH, "arguments": ""}
    deltas: list[dict[str, Any]] = [
        {"delta": {"role": "assistant", "tool_calls": [first]}},
        {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": SEARCH_ARGS[:30]}}]}},
        {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": SEARCH_ARGS[30:]}}]}},
        {
            "delta": {},
            "finish_reason": "tool_calls",
            "usage": {"prompt_tokens": 120, "completion_tokens": 20},
        },
    ]
    lines = [b"data: " + orjson.dumps({**base, "choices": [{"index": 0, **d}]}) + b"\n\n" for d in deltas]
    return b"".join(lines) + b"data: [DONE]\n\n"


# --- builtin $web_search -----------------------------------------------------------------------


async def test_web_search_declared_echoed_and_billed(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """$web_search is declared as a builtin_function, echoed with its arguments, and billed per call."""
    fake_kimi.add(
        Reply.raw(200, search_body(kimi.model_name)),
        Reply.text("Osaka: concert on the 12th.", usage=(120 + 2135, 30, 0)),
    )
    result = await Agent(kimi, tools=[weather]).run("When is the concert in Osaka?")
    first, second = (r.body for r in fake_kimi.requests)
    assert first is not None
    assert second is not None
    assert first["tools"][-1] == {"type": "builtin_function", "function": {"name": WEB_SEARCH}}
    assert first["tools"][0]["function"]["name"] == "weather"
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "t-web_search-7ca8c2b1",
        "name": WEB_SEARCH,
        "content": SEARCH_ARGS,
    }
    assert second["messages"][-2]["tool_calls"][0]["type"] == "builtin_function"
    assert result.output == "Osaka: concert on the 12th."
    assert result.usage.web_searches == 1
    assert result.usage.input_tokens == 120 + 120 + 2135  # the search content is billed as prompt
    tokens = Usage(input_tokens=2375, output_tokens=50)
    assert result.cost_usd == pytest.approx(cost_usd(tokens, PRICES[kimi.model_name]) + 0.005)


async def test_web_search_in_a_streamed_run(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """A streamed $web_search call keeps its builtin type, so it is echoed and counted the same way."""
    fake_kimi.add(
        Reply.raw(200, search_stream(kimi.model_name), content_type="text/event-stream"),
        Reply.text("Found it."),
    )
    async with Agent(kimi).stream("Search the news") as run:
        _ = [event async for event in run]
    sent = fake_kimi.requests[1].body
    assert sent is not None
    assert sent["messages"][-1]["content"] == SEARCH_ARGS
    assert run.result.usage.web_searches == 1


def test_builtin_tool_names_must_start_with_dollar() -> None:
    """A builtin tool name without the leading "$" is refused when the model is built."""
    with pytest.raises(UserError, match=r"start with '\$'"):
        KimiModel(api_key="sk-x", base_url="http://127.0.0.1:9/v1", builtin_tools=["web_search"])


# --- thinking models ---------------------------------------------------------------------------


async def test_thinking_model_defaults_and_reasoning_round_trip(fake_kimi: FakeKimiServer) -> None:
    """A thinking model sends temperature 1.0 and 16384 max_tokens; its reasoning goes back with calls."""
    fake_kimi.add(
        Reply.tool_calls(("weather", {"city": "Oslo"}), reasoning="I should check Oslo."),
        Reply.text("Mild.", reasoning="21C is mild."),
    )
    async with KimiModel("kimi-k2-thinking", base_url=fake_kimi.base_url, api_key="sk-t") as model:
        events: list[Event] = []
        async with Agent(model, tools=[weather]).stream("Oslo?") as run:
            events.extend([e async for e in run])
    first, second = (r.body for r in fake_kimi.requests)
    assert first is not None
    assert second is not None
    assert (first["temperature"], first["max_tokens"]) == (1.0, 16_384)
    assert second["messages"][1]["reasoning_content"] == "I should check Oslo."
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "I should check Oslo.21C is mild."
    stored = [m for m in run.result.messages if isinstance(m, AssistantMessage)]
    assert [m.reasoning_content for m in stored] == ["I should check Oslo.", "21C is mild."]


# --- self-hosted engines -----------------------------------------------------------------------


async def test_self_hosted_decodes_double_encoded_arguments(fake_kimi: FakeKimiServer) -> None:
    """On a self-hosted engine, arguments encoded twice are decoded and the tool runs."""
    twice = orjson.dumps('{"city": "Oslo"}').decode()
    fake_kimi.add(Reply.tool_calls(("weather", twice)), Reply.text("Done."))
    async with self_hosted_kimi(fake_kimi.base_url) as model:
        result = await Agent(model, tools=[weather]).run("Oslo?")
    assert result.messages[2] == ToolMessage(
        tool_call_id="functions.weather:0", name="weather", content="Oslo: 21C"
    )
    assert result.cost_usd == 0.0  # your own hardware has no list price


async def test_self_hosted_still_reports_unusable_calls(fake_kimi: FakeKimiServer) -> None:
    """Broken JSON and a JSON string that holds no object still come back to the model as tool errors."""
    fake_kimi.add(
        Reply.tool_calls(("weather", '{"city": "Oslo"'), ("weather", '"Oslo"')),
        Reply.text("Giving up."),
    )
    async with self_hosted_kimi(fake_kimi.base_url, "moonshotai/Kimi-K2-Thinking") as model:
        result = await Agent(model, tools=[weather]).run("Oslo?")
    errors = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.is_error for m in errors] == [True, True]
    sent = fake_kimi.requests[0].body
    assert sent is not None
    assert sent["temperature"] == 1.0  # a thinking model's name gets thinking defaults


async def test_moonshot_leaves_double_encoding_to_the_tool_layer(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """On Moonshot's API the provider does not decode: the tool layer tells the model it encoded twice."""
    fake_kimi.add(Reply.tool_calls(("weather", orjson.dumps('{"city": "Oslo"}').decode())), Reply.text("ok"))
    result = await Agent(kimi, tools=[weather]).run("Oslo?")
    answer = result.messages[2]
    assert isinstance(answer, ToolMessage)
    assert answer.is_error
    assert "encoded twice" in answer.content


# --- prefill and tool_choice -------------------------------------------------------------------


async def test_role_play_prefill_sends_the_character_name(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """prefill_name= sets the partial message's name; the answer is stitched and spoken by that name."""
    fake_kimi.add(Reply.text(" brain the size of a planet."))
    result = await Agent(kimi).run("Who are you?", prefill="I have a", prefill_name="Marvin")
    sent = fake_kimi.requests[0].body
    assert sent is not None
    assert sent["messages"][-1] == {
        "role": "assistant",
        "content": "I have a",
        "partial": True,
        "name": "Marvin",
    }
    assert result.output == "I have a brain the size of a planet."
    assert result.messages[-1] == AssistantMessage(content=result.output, name="Marvin")


async def test_prefill_with_json_object_is_refused_before_sending(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """prefill= with response_format json_object fails with a clear UserError and sends nothing."""
    json_mode = ModelSettings(extra_body={"response_format": {"type": "json_object"}})
    with pytest.raises(UserError, match="cannot be combined with response_format json_object"):
        await Agent(kimi).run("JSON please", prefill="{", model_settings=json_mode)
    assert fake_kimi.requests == []


async def test_agent_level_tool_choice_and_per_run_override(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """Agent(tool_choice="required") emulates it on every run; a run's own tool_choice wins."""
    fake_kimi.add(Reply.tool_calls(("weather", {"city": "Oslo"})), Reply.text("ok"), Reply.text("plain"))
    agent = Agent(kimi, tools=[weather], tool_choice="required")
    await agent.run("Oslo?")
    await agent.run("Hi", tool_choice="auto")
    forced, after_call, free = (r.body for r in fake_kimi.requests)
    assert forced is not None
    assert after_call is not None
    assert free is not None
    assert forced["messages"][-1]["content"] == KIMI_PROFILE.tool_choice_required_nudge
    assert after_call["messages"][-1]["role"] == "tool"  # forced only until a tool was called
    assert free["tool_choice"] == "auto"


# --- automatic model choice --------------------------------------------------------------------


async def test_auto_picks_the_smallest_tier_that_fits(fake_kimi: FakeKimiServer) -> None:
    """KimiModel.auto sends to the smallest model holding prompt + max_tokens, billed at its price."""
    fake_kimi.add(Reply.text("short", usage=(100, 10, 0)), Reply.text("long", usage=(100, 10, 0)))
    async with KimiModel.auto(base_url=fake_kimi.base_url, api_key="sk-auto", profile=FAST) as model:
        small = await Agent(model).run("hi")
        big = await Agent(model).run("hi", model_settings=ModelSettings(max_tokens=20_000))
        assert model.context_window == 131_072
    chats = [r.body for r in fake_kimi.requests if r.path.endswith("/chat/completions")]
    counts = [r for r in fake_kimi.requests if r.path.endswith("/estimate-token-count")]
    assert [b["model"] for b in chats if b is not None] == ["moonshot-v1-8k", "moonshot-v1-32k"]
    assert len(counts) == 2
    tokens = Usage(input_tokens=100, output_tokens=10)
    assert small.cost_usd == pytest.approx(cost_usd(tokens, PRICES["moonshot-v1-8k"]))
    assert big.cost_usd == pytest.approx(cost_usd(tokens, PRICES["moonshot-v1-32k"]))


async def test_auto_with_a_custom_ladder_and_counter(fake_kimi: FakeKimiServer) -> None:
    """A configured ladder and token counter decide; the response names the chosen model."""
    ladder = ContextLadder(
        tiers=(
            LadderTier(model_name="kimi-k2-0711-preview", context_window=131_072),
            LadderTier(model_name="kimi-k2-0905-preview", context_window=262_144),
        )
    )

    async def count(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> int:
        return 200_000

    fake_kimi.add(Reply.text("ok"))
    async with KimiModel.auto(
        ladder, count_tokens=count, base_url=fake_kimi.base_url, api_key="sk-a"
    ) as model:
        response = await model.complete(ModelRequest(messages=[UserMessage(content="hi")]))
    assert [r.path for r in fake_kimi.requests] == ["/v1/chat/completions"]
    assert response.model_name == "kimi-k2-0905-preview"
    assert response.wire_request is not None
    assert response.wire_request["model"] == "kimi-k2-0905-preview"


def test_ladder_follows_moonshot_v1_auto_rule() -> None:
    """<= 8k goes to the 8k model, <= 32k to 32k, anything larger to 128k (prompt + max_tokens)."""
    pick = MOONSHOT_V1_LADDER.choose
    assert pick(prompt_tokens=4_096, max_tokens=4_096) == "moonshot-v1-8k"
    assert pick(prompt_tokens=4_097, max_tokens=4_096) == "moonshot-v1-32k"
    assert pick(prompt_tokens=28_672, max_tokens=4_096) == "moonshot-v1-32k"
    assert pick(prompt_tokens=28_673, max_tokens=4_096) == "moonshot-v1-128k"
    assert pick(prompt_tokens=10**6, max_tokens=0) == "moonshot-v1-128k"
    with pytest.raises(UserError, match="strictly growing"):
        ContextLadder(
            tiers=(LadderTier(model_name="a", context_window=2), LadderTier(model_name="b", context_window=1))
        )


# --- account helpers ---------------------------------------------------------------------------


async def test_token_estimate_and_balance_helpers(fake_kimi: FakeKimiServer, kimi: KimiModel) -> None:
    """The helpers call the estimate and balance endpoints with the model's key and parse the answers."""
    fake_kimi.balance = {"available_balance": 12.5, "voucher_balance": 2.5, "cash_balance": 10.0}
    tokens = await estimate_token_count(kimi, [UserMessage(content="x" * 400)])
    balance = await get_balance(kimi)
    assert tokens == 400 // 4 + 10  # the fake's documented estimate
    assert (balance.available, balance.voucher, balance.cash) == (12.5, 2.5, 10.0)
    estimate, balance_request = fake_kimi.requests
    assert estimate.body == {"model": kimi.model_name, "messages": [{"role": "user", "content": "x" * 400}]}
    assert (balance_request.method, balance_request.path) == ("GET", "/v1/users/me/balance")
    assert balance_request.headers["authorization"] == "Bearer sk-feature-test"
