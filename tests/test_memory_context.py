"""Token estimation and FitContext: older turns are dropped or summarised to fit the window."""

from __future__ import annotations

import pytest

from agentkit import Agent, tool
from agentkit.exceptions import ModelHTTPError, UserError
from agentkit.hooks import RunInfo
from agentkit.memory import InMemoryMemory
from agentkit.memory.context import (
    SUMMARY_PREFIX,
    DropOldest,
    FitContext,
    Summarize,
    estimate_tokens,
    text_tokens,
)
from agentkit.memory.repair import repair_history
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from agentkit.models import KimiModel, moonshot_counter
from agentkit.models.abstract import ModelRequest, ModelSettings, ToolDefinition
from agentkit.models.function import ScriptedModel
from agentkit.testing import FakeKimiServer, Reply
from tests._memory_backends import tool_turn
from tests.builders import calls

pytestmark = pytest.mark.anyio

INFO = RunInfo(run_id="r1", agent_name="a", turn=1)


@tool
def lookup(i: int) -> str:
    """Look something up.

    Args:
        i: what to look up.
    """
    return "x" * 350


def _history(turns: int) -> list[Message]:
    """``turns`` stored turns of about 260 estimated tokens each (two calls with 350-character results)."""
    out: list[Message] = []
    for index in range(turns):
        out.extend(
            ToolMessage(tool_call_id=m.tool_call_id, name=m.name, content="r" * 350)
            if isinstance(m, ToolMessage)
            else m
            for m in tool_turn(index, width=2)
        )
    return out


def test_estimates_follow_text_length_and_script() -> None:
    """ASCII counts ~3.5 characters a token, CJK one token a character, tools add their schemas."""
    assert text_tokens("a" * 700) == 200
    assert text_tokens("大阪" * 50) == 100
    assert text_tokens("") == 0
    message = [UserMessage(content="a" * 70)]
    definition = ToolDefinition(name="f", description="d" * 70, parameters={"type": "object"})
    assert estimate_tokens(message) == 24
    assert estimate_tokens(message, [definition]) > estimate_tokens(message) + 20


async def test_a_request_that_fits_is_sent_unchanged() -> None:
    """Below the threshold the hook returns the very same request."""
    request = ModelRequest(messages=_history(2))
    assert await FitContext(window=100_000).before_model_call(request, INFO) is request


async def test_drop_oldest_keeps_system_latest_prompt_and_whole_tool_turns() -> None:
    """Dropping fits the prompt under the threshold; system, latest prompt and call/result pairs stay."""
    system = SystemMessage(content="sys")
    latest = UserMessage(content="latest question")
    messages = [system, *_history(20), latest]
    fit = FitContext(window=4000, default_max_tokens=500)
    fitted = list((await fit.before_model_call(ModelRequest(messages=messages), INFO)).messages)
    assert estimate_tokens(fitted) + 500 <= 4000 * 0.85
    assert len(fitted) < len(messages) - 20
    assert fitted[0] == system
    assert fitted[-1] == latest
    assert repair_history(fitted) == fitted  # no call without its result, no stray result
    assert not isinstance(fitted[1], ToolMessage)
    assert fitted[1:] == messages[len(messages) - len(fitted) + 1 :]  # the newest turns, in order


async def test_the_turn_in_progress_is_never_compacted() -> None:
    """Tool calls and results after the latest user message are kept even when they alone overflow."""
    current = [UserMessage(content="now"), *tool_turn(99, width=4)[1:]]
    messages = [*_history(3), *current]
    fit = FitContext(window=300, default_max_tokens=10, threshold=1.0, target=0.5)
    fitted = list((await fit.before_model_call(ModelRequest(messages=messages), INFO)).messages)
    assert fitted == current


async def test_summarize_replaces_older_turns_with_one_summary_written_once() -> None:
    """The older turns become one summary message; a later turn in the same run reuses it."""
    summarizer = ScriptedModel(["They looked up items 0 to 9."])
    fit = FitContext(window=4000, default_max_tokens=500, compaction=Summarize(summarizer))
    messages: list[Message] = [SystemMessage(content="sys"), *_history(20), UserMessage(content="next?")]
    first = list((await fit.before_model_call(ModelRequest(messages=messages), INFO)).messages)
    messages += [AssistantMessage(content="a short answer"), UserMessage(content="and then?")]
    second = list((await fit.before_model_call(ModelRequest(messages=messages), INFO)).messages)
    assert first[1] == UserMessage(content=SUMMARY_PREFIX + "They looked up items 0 to 9.")
    assert second[1] == first[1]
    assert summarizer.remaining == 0
    assert len(summarizer.requests) == 1
    summarised = summarizer.requests[0].messages[1].content or ""
    assert '"question 0"' in summarised
    assert summarizer.requests[0].settings == ModelSettings(max_tokens=1024)


async def test_an_agent_with_fit_context_sends_less_but_stores_every_turn() -> None:
    """Through Agent.run with a session: the model sees a fitted prompt, the session keeps all turns."""
    memory = InMemoryMemory()
    history = _history(20)
    for start in range(0, len(history), 4):
        await memory.append("long", history[start : start + 4])
    model = ScriptedModel([calls(("lookup", {"i": 1})), "done"])
    fit = FitContext(window=3000, default_max_tokens=200, compaction=DropOldest())
    agent = Agent(model, instructions="sys", tools=[lookup], memory=memory, hooks=[fit])
    await agent.run("final question", session="long")
    assert len(model.requests[0].messages) < 20 * 4
    for request in model.requests:
        assert estimate_tokens(request.messages, request.tools) + 200 <= 3000 * 0.85
        assert request.messages[0] == SystemMessage(content="sys")
    assert model.requests[1].messages[-3].content == "final question"
    assert len(await memory.load("long")) == 20 * 4 + 4


def test_the_window_comes_from_the_model_or_must_be_given() -> None:
    """A Kimi model names its window; a model without one needs window=."""
    kimi = KimiModel("moonshot-v1-8k", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    assert FitContext(model=kimi).window == 8192
    with pytest.raises(UserError, match="window="):
        FitContext(model=ScriptedModel([]))
    with pytest.raises(UserError, match="target"):
        FitContext(window=1000, threshold=0.5, target=0.8)


async def test_moonshot_counter_asks_the_estimate_endpoint(fake_kimi: FakeKimiServer) -> None:
    """The opt-in counter posts the messages to /tokenizers/estimate-token-count and uses its total."""
    async with KimiModel("moonshot-v1-8k", api_key="sk-test", base_url=fake_kimi.base_url) as kimi:
        count = moonshot_counter(kimi)
        total = await count([UserMessage(content="a" * 400)], ())
    posted = [r for r in fake_kimi.requests if r.path.endswith("/estimate-token-count")]
    assert total == 110  # the fake server counts characters // 4 + 10
    assert len(posted) == 1
    assert posted[0].body is not None
    assert posted[0].body["messages"] == [{"role": "user", "content": "a" * 400}]


def test_moonshot_counter_still_imports_from_memory_context_with_a_warning() -> None:
    """The old home of moonshot_counter keeps working and says where it moved (see test_tokens.py)."""
    from agentkit.memory import context  # noqa: PLC0415 - the module under test

    with pytest.warns(DeprecationWarning, match="import it from agentkit.models"):
        old = context.moonshot_counter
    assert callable(old)


OVERFLOW = Reply.error(
    400, "invalid_request_error", "Invalid request: Your request exceeded model token limit: 8192"
)


async def _run_with_history(fake_kimi: FakeKimiServer) -> None:
    memory = InMemoryMemory()
    history = _history(10)
    for start in range(0, len(history), 4):
        await memory.append("s", history[start : start + 4])
    fit = FitContext(window=1_000_000)  # the local estimate says it fits; the server will disagree
    async with KimiModel("moonshot-v1-8k", api_key="sk-test", base_url=fake_kimi.base_url) as kimi:
        result = await Agent(kimi, memory=memory, hooks=[fit]).run("next", session="s")
    assert result.output == "fits now"


async def test_a_token_limit_error_compacts_once_and_retries_once(fake_kimi: FakeKimiServer) -> None:
    """A 400 "exceeded model token limit" makes FitContext compact and the loop retry the call once."""
    fake_kimi.add(OVERFLOW, Reply.text("fits now"))
    await _run_with_history(fake_kimi)
    chats = [r.body for r in fake_kimi.requests if r.path.endswith("/chat/completions") and r.body]
    assert len(chats) == 2
    assert len(chats[1]["messages"]) < len(chats[0]["messages"])
    assert chats[1]["messages"][-1] == {"role": "user", "content": "next"}


async def test_a_second_overflow_or_another_error_ends_the_run(fake_kimi: FakeKimiServer) -> None:
    """The retry happens once; an error other than an overflow is never retried by FitContext."""
    fake_kimi.add(OVERFLOW, OVERFLOW)
    with pytest.raises(ModelHTTPError, match="token limit"):
        await _run_with_history(fake_kimi)
    fake_kimi.add(
        Reply.error(400, "content_filter", "The request was rejected because it was considered high risk")
    )
    with pytest.raises(ModelHTTPError, match="high risk"):
        await _run_with_history(fake_kimi)
    chats = [r for r in fake_kimi.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 3
