"""Real recordings replayed: runs against llama-cpp-python's server with SmolLM2-135M, played back.

The traces in ``tests/traces/llama_cpp/`` were recorded by
``tests/conformance/record_llama_traces.py`` (``origin: recorded``; the header names the server,
its version, the model file and the scenario). Replaying each with the agent that recorded it
must ask exactly the recorded requests (strict mode) and end with the recorded output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.models import ReplayModel
from agentkit.tracing import read_trace
from tests._llama_runs import SCENARIOS, make_agent
from tests.builders import run_agent

pytestmark = pytest.mark.anyio

TRACES = sorted((Path(__file__).parent / "traces" / "llama_cpp").glob("*.jsonl"))


def test_the_recordings_are_there_and_say_what_they_are() -> None:
    """Every scenario is recorded on both model classes, streamed and not, each header naming the server."""
    assert len(TRACES) == len(SCENARIOS) * 2 * 2
    for path in TRACES:
        header = read_trace(path).header
        assert header["origin"] == "recorded"
        assert header["server"] == "llama-cpp-python"
        assert header["server_version"]
        assert header["model_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert header["scenario"] in SCENARIOS


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
async def test_recorded_run_replays_exactly(path: Path) -> None:
    """The same agent and prompt ask the recorded requests, in order, and end with the recorded output."""
    trace = read_trace(path)
    scenario = SCENARIOS[trace.header["scenario"]]
    replay = ReplayModel(trace)
    result = await run_agent(make_agent(replay, scenario), scenario.prompt, stream=trace.header["stream"])
    replay.finish()
    final = trace.final
    assert final is not None
    recorded = final["output"]
    output = result.output.model_dump() if hasattr(result.output, "model_dump") else result.output
    assert output == recorded
    assert result.turns == len(trace.model_calls)
