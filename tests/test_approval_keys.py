"""Calls are told apart by agentkit's key, never by the model's (repeatable) tool-call id."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.approval import Approve, Decision, Reject, approve_all
from agentkit.events import Event, ToolCallFinished
from agentkit.exceptions import RunStateError, UsageLimitExceeded
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage
from agentkit.models import KimiModel
from agentkit.models.function import ScriptedModel
from agentkit.run_state import RunState
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import capture_traces
from agentkit.usage import UsageLimits

pytestmark = pytest.mark.anyio

PAID: list[str] = []
LOOKED_UP: list[str] = []


@tool(requires_approval=True)
def send_money(to: str, amount: int) -> str:
    """Send money.

    Args:
        to: Who gets it.
        amount: How much.
    """
    PAID.append(to)
    return f"paid {amount} to {to}"


@tool
def lookup(name: str) -> str:
    """Find a person's account.

    Args:
        name: Who to look up.
    """
    LOOKED_UP.append(name)
    return f"account of {name}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    PAID.clear()
    LOOKED_UP.clear()


def _pay(to: str, id: str) -> ToolCall:
    return ToolCall(id=id, name="send_money", arguments=orjson.dumps({"to": to, "amount": 10}).decode())


def _same_id_answer() -> AssistantMessage:
    """Two payments under one id: one to the payee the user asked for, one to an attacker."""
    return AssistantMessage(
        tool_calls=(_pay("bob", "functions.send_money:0"), _pay("attacker", "functions.send_money:0"))
    )


def _results(messages: Any) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


async def test_calls_sharing_an_id_are_refused_none_pauses_or_runs() -> None:
    """Two calls of one answer with one id: each gets an error result, nothing waits, nothing runs."""
    agent = Agent(ScriptedModel([_same_id_answer(), "I will call them again."]), tools=[send_money])
    result = await agent.run("Pay Bob 10")
    assert not result.paused
    assert result.pending == ()
    assert PAID == []
    refused = _results(result.messages)
    assert len(refused) == 2
    assert all(r.is_error and "share the id 'functions.send_money:0'" in r.content for r in refused)
    assert [r.tool_call_id for r in refused] == ["functions.send_money:0"] * 2


async def test_calls_sharing_an_id_are_refused_even_with_an_approver() -> None:
    """An approver is never asked about calls sharing an id, so approve_all cannot let them run."""
    asked: list[str] = []

    def approver(call: ToolCall, arguments: dict[str, Any]) -> Approve:
        asked.append(arguments["to"])
        return Approve()

    agent = Agent(ScriptedModel([_same_id_answer(), "ok"]), tools=[send_money], approve=approver)
    await agent.run("Pay Bob 10")
    assert asked == []
    assert PAID == []


async def test_kimi_wire_answer_with_repeated_ids_runs_nothing(fake_kimi: FakeKimiServer) -> None:
    """A Kimi answer on the wire repeating a call id has neither call run, even under approve_all."""
    calls = [
        {
            "index": i,
            "id": "functions.send_money:0",
            "type": "function",
            "function": {"name": "send_money", "arguments": a},
        }
        for i, a in enumerate(['{"to": "bob", "amount": 10}', '{"to": "attacker", "amount": 10}'])
    ]
    body = {
        "id": "r1",
        "object": "chat.completion",
        "model": "kimi-k2.6",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": calls},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
    fake_kimi.add(Reply.raw(200, orjson.dumps(body)), Reply.text("Sorry, I will retry."))
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-test") as model:
        result = await Agent(model, tools=[send_money], approve=approve_all).run("Pay Bob 10")
    assert PAID == []
    assert result.output == "Sorry, I will retry."
    last = fake_kimi.requests[-1].body
    assert last is not None
    sent_back = last["messages"]
    assert [m["tool_call_id"] for m in sent_back if m["role"] == "tool"] == ["functions.send_money:0"] * 2


async def test_a_decision_applies_only_to_the_call_whose_key_it_names() -> None:
    """Pending calls carry distinct keys; approving one and rejecting the other runs exactly the first."""
    answer = AssistantMessage(
        tool_calls=(_pay("bob", "functions.send_money:0"), _pay("eve", "functions.send_money:1"))
    )
    paused = await Agent(ScriptedModel([answer]), tools=[send_money]).run("Pay Bob and Eve")
    assert paused.state is not None
    assert [p.key for p in paused.pending] == ["1.0", "1.1"]
    bob, eve = paused.pending
    decisions: dict[str, Decision] = {bob.key: Approve(), eve.key: Reject(message="not Eve")}
    done = await Agent(ScriptedModel(["Paid Bob."]), tools=[send_money]).resume(paused.state, decisions)
    assert PAID == ["bob"]
    assert [r.content for r in _results(done.messages)] == ["paid 10 to bob", "not Eve"]


async def test_a_models_call_id_is_not_a_decision_key() -> None:
    """A decision given under the model's call id is refused, naming the keys to use instead."""
    paused = await Agent(ScriptedModel([_pay("bob", "functions.send_money:0")]), tools=[send_money]).run(
        "Pay"
    )
    assert paused.state is not None
    with pytest.raises(RunStateError, match=r"keyed by PendingCall.key.*") as caught:
        await Agent(ScriptedModel([]), tools=[send_money]).resume(
            paused.state, {"functions.send_money:0": Approve()}
        )
    assert "'1.0'" in str(caught.value)
    assert PAID == []


async def test_a_version_1_state_without_keys_still_resumes() -> None:
    """A state saved before keys existed loads with each key derived from the call's position."""
    answer = AssistantMessage(
        tool_calls=(ToolCall(id="a", name="lookup", arguments='{"name": "Amy"}'), _pay("bob", "b"))
    )
    paused = await Agent(ScriptedModel([answer]), tools=[send_money, lookup]).run("go")
    assert paused.state is not None
    old = paused.state.to_dict()
    old["version"] = 1
    for pending in old["pending"]:
        del pending["key"]
    state = RunState.from_dict(old)
    assert [p.key for p in state.pending] == ["1.1"]
    done = await Agent(ScriptedModel(["done"]), tools=[send_money, lookup]).resume(state, {"1.1": Approve()})
    assert PAID == ["bob"]
    assert done.output == "done"


async def test_a_state_whose_key_names_another_call_is_refused() -> None:
    """A saved state cannot move a key onto a different call of the paused message."""
    answer = AssistantMessage(tool_calls=(_pay("bob", "x"), _pay("eve", "y")))
    paused = await Agent(ScriptedModel([answer]), tools=[send_money]).run("go")
    assert paused.state is not None
    data = paused.state.to_dict()
    data["pending"][0]["key"], data["pending"][1]["key"] = "1.1", "1.0"
    with pytest.raises(RunStateError, match="does not name its call"):
        RunState.from_dict(data)


async def test_a_streamed_call_started_before_its_duplicate_keeps_its_result() -> None:
    """Mid-stream, the first call under an id may already run: it keeps its result, the repeat is refused."""
    answer = AssistantMessage(
        tool_calls=(
            ToolCall(id="functions.lookup:0", name="lookup", arguments='{"name": "Amy"}'),
            ToolCall(id="functions.lookup:0", name="lookup", arguments='{"name": "Eve"}'),
        )
    )
    agent = Agent(ScriptedModel([answer, "ok"]), tools=[lookup])
    events: list[Event] = []
    async with agent.stream("go") as run:
        events.extend([e async for e in run])
    assert LOOKED_UP == ["Amy"]
    first, second = _results(run.result.messages)
    assert (first.content, first.is_error) == ("account of Amy", False)
    assert second.is_error
    assert "share the id" in second.content
    assert [e.key for e in events if isinstance(e, ToolCallFinished)] == ["1.0"]


async def test_a_failed_run_answers_a_call_that_reuses_an_earlier_turns_id() -> None:
    """A run ending in the tool phase gives every open call a result, even one reusing an answered id."""
    reused = ToolCall(id="functions.lookup:0", name="lookup", arguments='{"name": "Eve"}')
    first = ToolCall(id="functions.lookup:0", name="lookup", arguments='{"name": "Amy"}')
    agent = Agent(ScriptedModel([first, reused]), tools=[lookup])
    with pytest.raises(UsageLimitExceeded) as caught:
        await agent.run("go", usage_limits=UsageLimits(tool_calls=1))
    messages = caught.value.messages
    assert isinstance(messages[-1], ToolMessage)
    assert messages[-1].is_error
    assert [m.role for m in messages[-4:]] == ["assistant", "tool", "assistant", "tool"]


async def test_trace_records_and_spans_carry_the_key() -> None:
    """Tool spans carry agentkit's key beside the model's id (two calls, two keys)."""
    answer = AssistantMessage(
        tool_calls=(
            ToolCall(id="functions.lookup:0", name="lookup", arguments='{"name": "Amy"}'),
            ToolCall(id="functions.lookup:1", name="lookup", arguments='{"name": "Eve"}'),
        )
    )
    with capture_traces() as captured:
        await Agent(ScriptedModel([answer, "ok"]), tools=[lookup]).run("go")
    spans = captured.of_kind("tool_call")
    assert sorted(s.attributes["tool_call_key"] for s in spans) == ["1.0", "1.1"]
    assert sorted(s.attributes["tool_call_id"] for s in spans) == ["functions.lookup:0", "functions.lookup:1"]
