"""Record a run against the loopback Kimi server, replay it with the server gone, and catch drift."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import orjson
import pytest

from agentkit import Agent, Tool, tool
from agentkit.events import TextDelta
from agentkit.exceptions import ModelError, ReplayMismatch
from agentkit.models import KimiModel, ReplayModel
from agentkit.models.abstract import Model
from agentkit.models.function import ModelReply, ScriptedModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import read_trace
from tests.builders import calls

pytestmark = pytest.mark.anyio

INSTRUCTIONS = "You answer weather questions. Call tools in parallel."


@tool
async def weather(city: str) -> dict[str, object]:
    """Current weather.

    Args:
        city: City name.
    """
    await anyio.sleep(0.01)
    return {"city": city, "temp_c": len(city) * 5}


@tool
async def weather_v2(city: str, units: str = "C") -> dict[str, object]:
    """Current weather.

    Args:
        city: City name.
        units: C or F.
    """
    return {"city": city, "temp_c": len(city) * 5}


def make_agent(
    model: Model, *, instructions: str = INSTRUCTIONS, tools: Sequence[Tool] = (weather,)
) -> Agent[str]:
    """The agent under test, built the same way for recording and replay."""
    return Agent(model, instructions=instructions, tools=tools, name="weather")


async def _record(fake_kimi: FakeKimiServer, path: Path) -> str:
    fake_kimi.add(
        Reply.tool_calls(("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"})),
        Reply.text("Oslo is colder than Rome."),
    )
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-record-test-key") as model:
        result = await make_agent(model).run("Compare Oslo and Rome.", trace=path)
    fake_kimi.stop()
    return result.output


async def test_recorded_run_replays_without_the_server(fake_kimi: FakeKimiServer, tmp_path: Path) -> None:
    """A run recorded over the wire replays with the server stopped and gives the same result."""
    path = tmp_path / "weather.jsonl"
    output = await _record(fake_kimi, path)
    trace = read_trace(path)
    assert trace.origin == "recorded"
    assert trace.model_calls[0]["raw"]["choices"][0]["finish_reason"] == "tool_calls"
    assert trace.model_calls[0]["wire_request"]["model"] == "kimi-k2.6"
    assert "sk-record-test-key" not in path.read_text()
    replay = ReplayModel.from_trace(path)
    result = await make_agent(replay).run("Compare Oslo and Rome.")
    assert result.output == output
    assert result.messages == trace.messages()
    assert result.usage.input_tokens == trace.final["usage"]["input_tokens"]  # type: ignore[index]  # run ended
    replay.finish()


async def test_streamed_replay_yields_the_recorded_text(fake_kimi: FakeKimiServer, tmp_path: Path) -> None:
    """Streaming against a replay yields the recorded answer as text deltas."""
    path = tmp_path / "weather.jsonl"
    output = await _record(fake_kimi, path)
    async with make_agent(ReplayModel.from_trace(path)).stream("Compare Oslo and Rome.") as run:
        text = "".join([e.text async for e in run if isinstance(e, TextDelta)])
    assert text == output == run.result.output


@pytest.mark.parametrize(
    ("change", "field", "in_diff"),
    [
        (("Answer in French.", (weather,)), "messages[0].content", "+Answer in French."),
        ((INSTRUCTIONS, (weather_v2,)), "tools[0].name", "+weather_v2"),
    ],
)
async def test_changed_agent_gives_a_readable_mismatch(
    fake_kimi: FakeKimiServer, tmp_path: Path, change: tuple[str, Sequence[Tool]], field: str, in_diff: str
) -> None:
    """A changed instruction or tool schema raises ReplayMismatch naming the turn, field and diff."""
    path = tmp_path / "weather.jsonl"
    await _record(fake_kimi, path)
    instructions, tools = change
    agent = make_agent(ReplayModel.from_trace(path), instructions=instructions, tools=tools)
    with pytest.raises(ReplayMismatch) as caught:
        await agent.run("Compare Oslo and Rome.")
    err = caught.value
    assert (err.turn, err.field) == (1, field)
    assert f"turn 1: the request differs from the recording in {field}" in str(err)
    assert "--- recorded" in err.diff
    assert in_diff in err.diff
    assert err.messages  # a RunError: the conversation so far is kept


async def test_changed_tool_result_is_caught_in_the_next_request(
    fake_kimi: FakeKimiServer, tmp_path: Path
) -> None:
    """A live tool returning something else shows as a mismatch in turn 2's tool message."""
    path = tmp_path / "weather.jsonl"
    await _record(fake_kimi, path)

    @tool(name="weather")
    async def warmer(city: str) -> dict[str, object]:
        """Current weather.

        Args:
            city: City name.
        """
        return {"city": city, "temp_c": 99}

    with pytest.raises(ReplayMismatch) as caught:
        await make_agent(ReplayModel.from_trace(path), tools=[warmer]).run("Compare Oslo and Rome.")
    assert caught.value.turn == 2
    assert caught.value.field == "messages[3].content"
    assert '+{"city":"Oslo","temp_c":99}' in caught.value.diff


async def test_recorded_results_mode_skips_the_real_tools(fake_kimi: FakeKimiServer, tmp_path: Path) -> None:
    """recorded_tools() answers each call with its recorded result, so a changed tool body does not matter."""
    path = tmp_path / "weather.jsonl"
    output = await _record(fake_kimi, path)
    ran: list[str] = []

    @tool(name="weather")
    async def offline(city: str) -> dict[str, object]:
        """Current weather.

        Args:
            city: City name.
        """
        ran.append(city)
        return {"unavailable": True}

    replay = ReplayModel.from_trace(path)
    result = await make_agent(replay, tools=replay.recorded_tools([offline])).run("Compare Oslo and Rome.")
    assert result.output == output
    assert ran == []
    replay.finish()


async def test_lenient_mode_ignores_instructions(tmp_path: Path) -> None:
    """Lenient replay accepts changed instructions as long as the same tool calls get results."""
    path = tmp_path / "t.jsonl"
    await make_agent(ScriptedModel([calls(("weather", {"city": "Oslo"})), "cold"])).run("Oslo?", trace=path)
    replay = ReplayModel.from_trace(path, strict=False)
    result = await make_agent(replay, instructions="Something else entirely.").run("Oslo?")
    assert result.output == "cold"


async def test_unused_and_missing_recorded_calls(tmp_path: Path) -> None:
    """Unused recorded calls fail finish() in strict mode; an extra call raises a mismatch."""
    path = tmp_path / "t.jsonl"
    await make_agent(ScriptedModel([calls(("weather", {"city": "Oslo"})), "cold"])).run("Oslo?", trace=path)
    replay = ReplayModel.from_trace(path)
    with pytest.raises(
        ReplayMismatch, match="after 0 model calls but the recording has 2: 2 recorded calls left unused"
    ):
        replay.finish()
    ReplayModel.from_trace(path, strict=False).finish()  # lenient: fine
    replay = ReplayModel.from_trace(path)
    await make_agent(replay).run("Oslo?")
    with pytest.raises(
        ReplayMismatch, match="turn 3: the agent made a model call the recording does not have"
    ):
        await make_agent(replay).run("Oslo?")


async def test_recorded_model_failure_replays_as_a_model_error(
    fake_kimi: FakeKimiServer, tmp_path: Path
) -> None:
    """A recorded provider failure is raised again on replay."""
    fake_kimi.add(Reply.error(400, "invalid_request_error", "bad request"))
    path = tmp_path / "fail.jsonl"
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-x-123456") as model:
        with pytest.raises(ModelError):
            await make_agent(model).run("hi", trace=path)
    with pytest.raises(ModelError, match="recorded failure: ModelHTTPError"):
        await make_agent(ReplayModel.from_trace(path)).run("hi")


async def test_recorded_results_are_found_by_call_key_and_in_traces_without_keys(tmp_path: Path) -> None:
    """Recorded results are matched by agentkit's call key; a trace written before keys still replays."""
    path = tmp_path / "t.jsonl"
    script: list[ModelReply] = [calls(("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"})), "done"]
    await make_agent(ScriptedModel(script)).run("Oslo and Rome?", trace=path)
    records = [orjson.loads(line) for line in path.read_text().splitlines()]
    assert [r["key"] for r in records if r.get("type") == "tool_call"] == ["1.0", "1.1"]
    for record in records:
        record.pop("key", None)
    old = tmp_path / "old.jsonl"
    old.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    for trace in (path, old):
        replay = ReplayModel.from_trace(trace)
        result = await make_agent(replay, tools=replay.recorded_tools([weather])).run("Oslo and Rome?")
        assert result.output == "done"
        replay.finish()
