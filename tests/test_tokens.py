"""One token-counting home: the counter protocol every counter follows, and the Kimi counter through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest

from agentkit import Agent
from agentkit.exceptions import ContextOverflowError, ModelHTTPError
from agentkit.memory.context import FitContext
from agentkit.messages import AssistantMessage, Message, UserMessage
from agentkit.models import ContextLadder, KimiModel, LadderTier, OpenAICompatModel
from agentkit.models._openai_wire import parse_response
from agentkit.models.abstract import ModelProfile, ModelRequest, ToolDefinition
from agentkit.models.function import ScriptedModel, call
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tokens import (
    CountsTokens,
    TokenCounter,
    answer_tokens,
    counter_for,
    estimate_tokens,
    local_counter,
    text_tokens,
)

pytestmark = pytest.mark.anyio

SCHEMA = {"type": "object", "properties": {"query": {"type": "string", "description": "q" * 2_000}}}
SEARCH = ToolDefinition(name="search", description="Search the web.", parameters=SCHEMA)


def _ladder(small_window: int) -> ContextLadder:
    return ContextLadder(
        tiers=(
            LadderTier(model_name="moonshot-v1-8k", context_window=small_window),
            LadderTier(model_name="moonshot-v1-128k", context_window=131_072),
        )
    )


async def test_kimi_auto_model_takes_a_token_counter_of_messages_and_tools(fake_kimi: FakeKimiServer) -> None:
    """count_tokens gets the request's messages and tool definitions, like every TokenCounter."""
    seen: list[tuple[Sequence[Message], Sequence[ToolDefinition]]] = []

    async def count(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> int:
        seen.append((messages, tools))
        return 9_000

    fake_kimi.add(Reply.text("ok"))
    request = ModelRequest(messages=[UserMessage(content="hi")], tools=[SEARCH])
    async with KimiModel.auto(
        _ladder(8_192), count_tokens=count, base_url=fake_kimi.base_url, api_key="sk-a"
    ) as model:
        response = await model.complete(request)
    assert seen == [(request.messages, request.tools)]
    assert response.model_name == "moonshot-v1-128k"
    assert [r.path for r in fake_kimi.requests] == ["/v1/chat/completions"]


async def test_a_request_body_counter_still_works_with_a_deprecation_warning(
    fake_kimi: FakeKimiServer,
) -> None:
    """The earlier count_tokens form, count(body), still chooses the model, with a deprecation warning."""

    async def count(body: Mapping[str, Any]) -> int:
        assert body["messages"] == [{"role": "user", "content": "hi"}]
        return 100

    fake_kimi.add(Reply.text("ok"))
    with pytest.warns(DeprecationWarning, match="takes a TokenCounter"):
        model = KimiModel.auto(
            _ladder(8_192), count_tokens=count, base_url=fake_kimi.base_url, api_key="sk-a"
        )
    async with model:
        response = await model.complete(ModelRequest(messages=[UserMessage(content="hi")]))
    assert response.model_name == "moonshot-v1-8k"


async def test_the_default_auto_count_estimates_tool_schemas_with_the_one_estimator(
    fake_kimi: FakeKimiServer,
) -> None:
    """Moonshot counts the messages; the tool schemas are text_tokens of their JSON (not JSON length / 3)."""
    request = ModelRequest(messages=[UserMessage(content="hi")], tools=[SEARCH])
    async with KimiModel("moonshot-v1-8k", base_url=fake_kimi.base_url, api_key="sk-a") as kimi:
        wire_tools = kimi.build_body(request, stream=False).body["tools"]
        served = await kimi.token_counter()(request.messages, ())
    schemas = orjson.dumps(wire_tools).decode()
    ours, thirds = text_tokens(schemas), len(schemas) // 3
    assert ours < thirds  # the window below separates the two estimates
    max_tokens = 4096  # KIMI_PROFILE's default_max_tokens, in the body
    fake_kimi.add(Reply.text("ok"))
    async with KimiModel.auto(
        _ladder(served + ours + max_tokens), base_url=fake_kimi.base_url, api_key="sk-a"
    ) as model:
        response = await model.complete(request)
    assert response.model_name == "moonshot-v1-8k"


async def test_a_kimi_model_offers_its_own_counter_through_the_protocol(fake_kimi: FakeKimiServer) -> None:
    """counter_for(KimiModel) asks Moonshot's estimate endpoint; other models get the estimate."""
    async with KimiModel("moonshot-v1-8k", base_url=fake_kimi.base_url, api_key="sk-a") as kimi:
        assert isinstance(kimi, CountsTokens)
        total = await counter_for(kimi)([UserMessage(content="a" * 400)], ())
    assert total == 110  # the fake server counts characters // 4 + 10
    assert [r.path for r in fake_kimi.requests] == ["/v1/tokenizers/estimate-token-count"]
    assert counter_for(ScriptedModel(["hi"])) is local_counter


async def test_the_old_memory_context_name_reaches_the_kimi_counter_without_importing_models(
    fake_kimi: FakeKimiServer,
) -> None:
    """agentkit.memory.context.moonshot_counter(model) warns, then counts via token_counter()."""
    from agentkit.memory import context  # noqa: PLC0415 - the module under test

    with pytest.warns(DeprecationWarning, match="import it from agentkit.models"):
        old = context.moonshot_counter
    async with KimiModel("moonshot-v1-8k", base_url=fake_kimi.base_url, api_key="sk-a") as kimi:
        assert await old(kimi)([UserMessage(content="a" * 40)], ()) == 20
    with pytest.raises(Exception, match="needs a KimiModel"):
        old(ScriptedModel(["hi"]))


def test_renamed_counter_types_warn_and_keep_working() -> None:
    """model_ladder.Counter is tokens.TokenCounter; kimi.TokenCounter (a body counter) still resolves."""
    from agentkit.models import kimi, model_ladder  # noqa: PLC0415 - the modules under test

    with pytest.warns(DeprecationWarning, match=r"use agentkit\.tokens\.TokenCounter"):
        assert model_ladder.Counter is TokenCounter
    with pytest.warns(DeprecationWarning, match="counters take"):
        assert kimi.TokenCounter is not None
    assert "TokenCounter" not in kimi.__all__


async def test_kimi_overflow_is_a_context_overflow_error(fake_kimi: FakeKimiServer) -> None:
    """Kimi's "exceeded model token limit" 400 is recognised by the Kimi profile and raised typed."""
    fake_kimi.add(
        Reply.error(
            400, "invalid_request_error", "Invalid request: Your request exceeded model token limit: 8192"
        )
    )
    async with KimiModel("moonshot-v1-8k", base_url=fake_kimi.base_url, api_key="sk-a") as kimi:
        with pytest.raises(ContextOverflowError, match="token limit"):
            await kimi.complete(ModelRequest(messages=[UserMessage(content="hi")]))


async def test_another_profile_does_not_read_kimis_overflow_wording(fake_kimi: FakeKimiServer) -> None:
    """Kimi's wording from a server with a plain profile is no overflow: FitContext leaves it."""
    fake_kimi.add(Reply.error(400, "invalid_request_error", "Your request exceeded model token limit: 8192"))
    async with OpenAICompatModel("m", base_url=fake_kimi.base_url, api_key="sk-a") as model:
        agent = Agent(model, hooks=[FitContext(window=1_000_000)])
        with pytest.raises(ModelHTTPError) as caught:
            await agent.run("next", message_history=_history())
    assert not isinstance(caught.value, ContextOverflowError)
    assert len(fake_kimi.requests) == 1


def _history() -> list[Message]:
    history: list[Message] = []
    for i in range(6):
        history += [
            UserMessage(content=f"question {i} " + "x" * 200),
            AssistantMessage(content=f"answer {i}"),
        ]
    return history


async def test_fit_context_retries_on_the_overflow_a_profile_recognises(fake_kimi: FakeKimiServer) -> None:
    """FitContext compacts and retries on any profile's overflow wording, not only Kimi's."""
    profile = ModelProfile(context_overflow_markers=("context window is full",))
    fake_kimi.add(
        Reply.error(400, "too_long", "The context window is full (9000 tokens)"), Reply.text("fits now")
    )
    history: list[Message] = []
    for i in range(6):
        history += [
            UserMessage(content=f"question {i} " + "x" * 200),
            AssistantMessage(content=f"answer {i}"),
        ]
    async with OpenAICompatModel("m", base_url=fake_kimi.base_url, api_key="sk-a", profile=profile) as model:
        agent = Agent(model, hooks=[FitContext(window=1_000_000)])
        result = await agent.run("next", message_history=history)
    assert result.output == "fits now"
    chats = [r.body for r in fake_kimi.requests if r.body is not None]
    assert len(chats) == 2
    assert len(chats[1]["messages"]) < len(chats[0]["messages"])


async def test_function_model_usage_is_the_one_local_estimate() -> None:
    """FunctionModel's usage is agentkit.tokens' estimate of the prompt (tools included) and of the answer."""
    answer = AssistantMessage(
        content="Take the 9:12 train.", tool_calls=(call("search", {"query": "Osaka"}),)
    )
    request = ModelRequest(
        messages=(UserMessage(content="How do I get to Osaka, quickly?"),), tools=(SEARCH,)
    )
    response = await ScriptedModel([answer]).complete(request)
    assert response.usage.input_tokens == estimate_tokens(request.messages, request.tools) > 500
    assert response.usage.output_tokens == answer_tokens(response.message) == 13


def test_unreported_wire_usage_is_the_one_local_estimate() -> None:
    """A wire answer without usage is estimated by agentkit.tokens: the sent JSON in, the answer out."""
    wire_request = {"messages": [{"role": "user", "content": "日本の首都は?"}], "tools": []}
    data = {"choices": [{"message": {"role": "assistant", "content": "東京です。"}, "finish_reason": "stop"}]}
    usage = parse_response(data, model_name="m", profile=ModelProfile(), wire_request=wire_request).usage
    sent = orjson.dumps([wire_request["messages"], wire_request["tools"]]).decode()
    assert (usage.input_tokens, usage.output_tokens, usage.estimated_requests) == (text_tokens(sent), 5, 1)
