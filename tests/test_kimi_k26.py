"""kimi-k2.6 / kimi-k2.5 as first-class models: the default, fixed sampling, thinking, retired ids, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import orjson
import pytest

from agentkit import Agent, tool
from agentkit.approval import Approve
from agentkit.cli._errors import EXIT_RUN_FAILED
from agentkit.cli.models import format_models
from agentkit.events import ReasoningDelta
from agentkit.exceptions import ModelHTTPError, ModelRetiredError, UserError
from agentkit.memory import SQLiteMemory
from agentkit.messages import AssistantMessage, ToolCall, UserMessage, message_from_dict, message_to_dict
from agentkit.models import WEB_SEARCH, KimiModel, ModelRequest, ModelSettings, ReplayModel, ToolDefinition
from agentkit.models._kimi_account import list_models
from agentkit.models.kimi import DEFAULT_KIMI_MODEL, KIMI_K26_PROFILE, KIMI_PROFILE
from agentkit.run_state import RunState
from agentkit.testing import FakeKimiServer, Reply
from agentkit.testing._kimi_rules import check_request
from agentkit.tracing import read_trace
from tests._cli import run_cli, write_agent

pytestmark = pytest.mark.anyio

KEY = "sk-k26-test-0123456789"
HELLO = ModelRequest(messages=[UserMessage(content="Hello")])
ADD = ToolDefinition(
    name="add",
    description="Add two numbers.",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)


@tool
async def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: First.
        b: Second.
    """
    await anyio.lowlevel.checkpoint()
    return a + b


@tool
async def mul(a: int, b: int) -> int:
    """Multiply two numbers.

    Args:
        a: First.
        b: Second.
    """
    return a * b


def k26(server: FakeKimiServer | None = None, name: str | None = None, **kwargs: Any) -> KimiModel:
    """A KimiModel (the default id unless ``name``) on ``server`` or a dead loopback port."""
    base = server.base_url if server is not None else "http://127.0.0.1:9/v1"
    return KimiModel(name, base_url=base, api_key=KEY, **kwargs)


def test_the_default_request_is_what_the_docs_allow_for_k26(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no name nor MOONSHOT_MODEL, the body is kimi-k2.6 with max_completion_tokens, no sampling."""
    monkeypatch.delenv("MOONSHOT_MODEL", raising=False)
    model = k26()
    assert model.model_name == DEFAULT_KIMI_MODEL == "kimi-k2.6"
    assert model.profile is KIMI_K26_PROFILE
    assert model.context_window == 262_144
    body = model.build_body(HELLO, stream=False).body
    assert body == {
        "model": "kimi-k2.6",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_completion_tokens": 32_768,
    }
    assert check_request(body) is None


def test_moonshot_model_still_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOONSHOT_MODEL picks the id (and its family's rules) when no name is passed."""
    monkeypatch.setenv("MOONSHOT_MODEL", "kimi-k2.5")
    model = k26()
    assert model.model_name == "kimi-k2.5"
    assert model.profile is KIMI_K26_PROFILE


def test_older_ids_keep_their_rules() -> None:
    """A 2025 id still gets temperature 0.6 and max_tokens, and no thinking switch."""
    body = k26(name="kimi-k2-0905-preview").build_body(HELLO, stream=False).body
    assert (body["temperature"], body["max_tokens"]) == (0.6, 4096)
    assert "max_completion_tokens" not in body
    with pytest.raises(UserError, match="no thinking switch"):
        k26(name="kimi-k2-0905-preview", thinking=False)
    assert k26(name="moonshot-v1-8k").profile is KIMI_PROFILE


@pytest.mark.parametrize(
    "settings",
    [
        ModelSettings(temperature=0.3),
        ModelSettings(top_p=0.5),
        ModelSettings(extra_body={"n": 2}),
        ModelSettings(extra_body={"presence_penalty": 0.5}),
        ModelSettings(extra_body={"frequency_penalty": 0.1}),
    ],
)
async def test_fixed_sampling_is_a_user_error_before_sending(settings: ModelSettings) -> None:
    """Setting a field K2.6 fixes raises UserError naming it, and nothing reaches the server."""
    with FakeKimiServer([Reply.text("unused")], mode="k2.6") as server:
        async with k26(server) as model:
            with pytest.raises(UserError, match="cannot be modified"):
                await model.complete(ModelRequest(messages=HELLO.messages, settings=settings))
        assert server.requests == []


@pytest.mark.parametrize(("thinking", "wire"), [(True, "enabled"), (False, "disabled")])
def test_thinking_switch_goes_on_the_wire(thinking: bool, wire: str) -> None:
    """KimiModel(thinking=...) sends {"thinking": {"type": ...}}; per-run settings override it."""
    model = k26(thinking=thinking)
    assert model.build_body(HELLO, stream=False).body["thinking"] == {"type": wire}
    flipped = ModelRequest(messages=HELLO.messages, settings=ModelSettings(thinking=not thinking))
    other = "disabled" if thinking else "enabled"
    assert model.build_body(flipped, stream=False).body["thinking"] == {"type": other}
    assert "thinking" not in k26().build_body(HELLO, stream=False).body  # the server default: on


@pytest.mark.parametrize("choice", ["required", "add"])
def test_forced_tool_choice_with_thinking_on_is_a_nudge(choice: str) -> None:
    """With thinking on, "required" and a named tool become a user nudge and no tool_choice field."""
    request = ModelRequest(messages=HELLO.messages, tools=[ADD], tool_choice=choice)
    wire = k26().build_body(request, stream=False)
    assert wire.tool_choice_emulated
    assert "tool_choice" not in wire.body
    assert wire.body["messages"][-1]["role"] == "user"
    assert ("add" in wire.body["messages"][-1]["content"]) == (choice == "add")
    assert check_request(wire.body) is None
    off = k26(thinking=False).build_body(request, stream=False).body
    if choice == "add":
        assert off["tool_choice"] == {"type": "function", "function": {"name": "add"}}


def test_web_search_turns_thinking_off() -> None:
    """$web_search on K2.6 sends thinking disabled; asking for thinking with it is a UserError."""
    body = k26(builtin_tools=[WEB_SEARCH]).build_body(HELLO, stream=False).body
    assert body["thinking"] == {"type": "disabled"}
    with pytest.raises(UserError, match="thinking disabled"):
        k26(builtin_tools=[WEB_SEARCH], thinking=True).build_body(HELLO, stream=False)


async def test_a_retired_id_raises_an_error_naming_its_replacement() -> None:
    """A 404 for kimi-k2-0905-preview is a ModelRetiredError that says to use kimi-k2.6."""
    with FakeKimiServer(mode="k2.6") as server:
        async with k26(server, "kimi-k2-0905-preview") as model:
            with pytest.raises(ModelRetiredError) as caught:
                await model.complete(HELLO)
    assert caught.value.replacement == "kimi-k2.6"
    assert caught.value.status_code == 404
    assert "use 'kimi-k2.6' instead" in str(caught.value)
    assert KEY not in str(caught.value)


async def test_an_unknown_id_404_stays_a_plain_http_error() -> None:
    """A 404 for an id agentkit does not know as retired is an ordinary ModelHTTPError."""
    with FakeKimiServer([Reply.error(404, "resource_not_found_error", "no such model")]) as server:
        async with k26(server, "kimi-k9") as model:
            with pytest.raises(ModelHTTPError) as caught:
                await model.complete(HELLO)
    assert not isinstance(caught.value, ModelRetiredError)


def test_the_fake_rejects_what_the_real_service_rejects() -> None:
    """mode="k2.6" rules: fixed sampling, forced choice while thinking, missing reasoning_content."""
    call = {"id": "functions.add:0", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "1+2"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "functions.add:0", "name": "add", "content": "3"},
    ]
    cases: dict[str, dict[str, Any]] = {
        "temperature": {"model": "kimi-k2.6", "messages": history[:1], "temperature": 0.3},
        "tool_choice": {"model": "kimi-k2.6", "messages": history[:1], "tool_choice": "required"},
        "reasoning_content is missing": {"model": "kimi-k2.6", "messages": history},
    }
    for words, body in cases.items():
        reply = check_request(body)
        assert reply is not None, words
        assert reply.status == 400, words
        assert words in (reply.message or "")
    off = {"model": "kimi-k2.6", "messages": history, "thinking": {"type": "disabled"}}
    assert check_request(off) is None
    with_reasoning = [history[0], {**history[1], "reasoning_content": "adding"}, history[2]]
    assert check_request({"model": "kimi-k2.6", "messages": with_reasoning}) is None


@pytest.mark.parametrize("thinking", [None, False])
async def test_parallel_tools_run_through_the_k26_fake_and_replay(
    tmp_path: Path, thinking: bool | None
) -> None:
    """Thinking on (default) and off: parallel calls, reasoning sent back, traced, replayed strictly."""
    path = tmp_path / "k26.jsonl"
    script = [
        Reply.tool_calls(("add", {"a": 1, "b": 2}), ("mul", {"a": 3, "b": 4}), reasoning="Two at once."),
        Reply.text("3 and 12", reasoning="Both done."),
    ]
    with FakeKimiServer(script, mode="k2.6") as server:
        async with k26(server, thinking=thinking) as model:
            agent = Agent(model, instructions="Use the tools.", tools=[add, mul])
            result = await agent.run("1+2 and 3*4?", trace=path)
        second = server.requests[1].body
        assert server.problems == []
    assert result.output == "3 and 12"
    assert second is not None
    assistant = second["messages"][2]
    assert len(assistant["tool_calls"]) == 2
    if thinking is None:
        assert assistant["reasoning_content"] == "Two at once."
        assert isinstance(result.messages[2], AssistantMessage)
        assert result.messages[2].reasoning_content == "Two at once."
    else:
        assert second["thinking"] == {"type": "disabled"}
        assert "reasoning_content" not in assistant
    trace = read_trace(path)
    assert trace.model_calls[0]["wire_request"]["model"] == "kimi-k2.6"
    replay = ReplayModel.from_trace(path, strict=True)
    again = await Agent(replay, instructions="Use the tools.", tools=[add, mul]).run("1+2 and 3*4?")
    assert again.messages == result.messages
    replay.finish()


async def test_reasoning_streams_as_reasoning_deltas() -> None:
    """A K2.6 stream yields ReasoningDelta pieces that join into the message's reasoning_content."""
    with FakeKimiServer([Reply.text("Hi.", reasoning="The user greets me.")], mode="k2.6") as server:
        async with k26(server) as model:
            events = [e async for e in model.stream(HELLO)]
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "The user greets me."
    final = events[-1]
    assert final.message.reasoning_content == "The user greets me."  # type: ignore[union-attr]


@pytest.mark.parametrize("thinking", [None, False])
async def test_partial_mode_works_on_k26(thinking: bool | None) -> None:
    """Prefill on K2.6, thinking on or off: the partial message goes last and the output is stitched."""
    with FakeKimiServer([Reply.text(' "robot"}')], mode="k2.6") as server:
        async with k26(server, thinking=thinking) as model:
            result = await Agent(model).run("Describe the robot as JSON", prefill='{"kind":')
        body = server.requests[0].body
    assert result.output == '{"kind": "robot"}'
    assert body is not None
    assert body["messages"][-1] == {"role": "assistant", "content": '{"kind":', "partial": True}


async def test_models_lists_what_the_endpoint_offers_with_known_windows_and_prices() -> None:
    """list_models: the ids GET /models returns, each with the context window and price agentkit knows."""
    with FakeKimiServer(mode="k2.6") as server:
        async with k26(server) as model:
            infos = {i.id: i for i in await list_models(model)}
    assert set(infos) >= {"kimi-k2.6", "kimi-k2.5"}
    assert infos["kimi-k2.6"].context_window == 262_144
    price = infos["kimi-k2.6"].price
    assert price is not None
    assert (price.cached_input, price.input, price.output) == (0.16, 0.95, 4.00)
    table = format_models(list(infos.values()))
    assert "kimi-k2.6" in table
    assert "262,144" in table


def test_agentkit_models_command_prints_the_table() -> None:
    """`agentkit models --base-url` prints one row per model the server lists."""
    with FakeKimiServer(mode="k2.6") as server:
        done = run_cli("models", "--base-url", server.base_url)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("kimi-k2.5 "))
    assert row.split()[1:] == ["262,144", "0.10", "0.60", "3.00"]


def test_history_tool_call_round_trips_reasoning_through_dicts() -> None:
    """reasoning_content on an assistant tool-call message survives the JSON form memory and traces use."""
    msg = AssistantMessage(
        content="",
        tool_calls=(ToolCall(id="functions.add:0", name="add", arguments="{}"),),
        reasoning_content="r",
    )
    assert message_from_dict(orjson.loads(orjson.dumps(message_to_dict(msg)))) == msg


async def test_reasoning_tokens_count_in_usage_and_cost() -> None:
    """completion_tokens_details.reasoning_tokens lands in usage; the cost bills all output at K2.6's rate."""
    message = {"role": "assistant", "content": "Hi."}
    body = {
        "model": "kimi-k2.6",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1_000_000,
            "completion_tokens": 1_000_000,
            "total_tokens": 2_000_000,
            "completion_tokens_details": {"reasoning_tokens": 900_000},
        },
    }
    with FakeKimiServer([Reply.raw(200, orjson.dumps(body))]) as server:
        async with k26(server) as model:
            response = await model.complete(HELLO)
    assert response.usage.reasoning_tokens == 900_000
    assert response.usage.output_tokens == 1_000_000
    assert response.cost_usd == pytest.approx(0.95 + 4.00)


def test_agentkit_run_names_the_replacement_of_a_retired_model(tmp_path: Path) -> None:
    """`agentkit run --model kimi-k2-0905-preview` against today's API says which id to use instead."""
    path = write_agent(tmp_path)
    with FakeKimiServer(mode="k2.6") as server:
        done = run_cli(
            "run", f"{path}:build", "hi", "--model", "kimi-k2-0905-preview", "--base-url", server.base_url
        )
    assert done.returncode == EXIT_RUN_FAILED
    assert done.stderr.strip().splitlines()[-1] == (
        "error: the model kimi-k2-0905-preview is retired (404); "
        "use --model kimi-k2.6 or set MOONSHOT_MODEL=kimi-k2.6"
    )


async def test_reasoning_survives_a_stored_session_on_k26(tmp_path: Path) -> None:
    """A second run of a SQLite session sends the first run's reasoning_content back (the fake checks)."""
    script = [
        Reply.tool_calls(("add", {"a": 1, "b": 2}), reasoning="Add first."),
        Reply.text("3"),
        Reply.text("Still 3."),
    ]
    with FakeKimiServer(script, mode="k2.6") as server:
        async with k26(server) as model:
            agent = Agent(model, tools=[add], memory=SQLiteMemory(tmp_path / "s.db"))
            await agent.run("1+2?", session="s1")
            again = await agent.run("And now?", session="s1")
        third = server.requests[2].body
        assert server.problems == []
    assert again.output == "Still 3."
    assert third is not None
    assert [m.get("reasoning_content") for m in third["messages"] if m.get("tool_calls")] == ["Add first."]


async def test_reasoning_survives_a_paused_run_stored_as_json() -> None:
    """A run paused for approval, stored as JSON and resumed, still sends reasoning_content back."""

    @tool(requires_approval=True)
    async def launch(target: str) -> str:
        """Launch it.

        Args:
            target: Where.
        """
        return f"launched to {target}"

    ask = Reply.tool_calls(("launch", {"target": "moon"}), reasoning="Needs a launch.")
    script = [ask, Reply.text("Done.")]
    with FakeKimiServer(script, mode="k2.6") as server:
        async with k26(server) as model:
            agent = Agent(model, tools=[launch])
            paused = await agent.run("Launch to the moon")
            state = RunState.from_json(paused.state.to_json())  # type: ignore[union-attr]  # paused
            done = await agent.resume(state, {paused.pending[0].key: Approve()})
        second = server.requests[1].body
        assert server.problems == []
    assert done.output == "Done."
    assert second is not None
    assert second["messages"][-2]["reasoning_content"] == "Needs a launch."
