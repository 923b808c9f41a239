"""The latency case: one agentkit turn of 8 parallel tools that each sleep 200 ms.

Prints one JSON line: per measured run, the wall time of the tool phase (first
``ToolCallStarted`` to last ``ToolCallFinished``) and of the whole first turn
(run start to ``TurnFinished(turn=1)``: model call, parsing and the 8 tools), in ms.

``python -m benchmarks.latency_agentkit --base-url URL [--runs N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import anyio
import orjson

from agentkit import Agent
from agentkit.events import ToolCallFinished, ToolCallStarted, TurnFinished
from agentkit.models import KimiModel
from benchmarks.workload import INSTRUCTIONS, LATENCY_CALLS, LATENCY_TOOLS, MODEL_NAME, PROMPT


async def _one(agent: Agent[str]) -> tuple[float, float, int]:
    """Run once; return (tool phase ms, first turn ms, tool calls finished in turn 1)."""
    start = time.perf_counter()
    first_start = last_end = turn_end = 0.0
    finished = 0
    async with agent.stream(PROMPT) as run:
        async for event in run:
            now = time.perf_counter()
            if isinstance(event, ToolCallStarted) and event.turn == 1 and not first_start:
                first_start = now
            elif isinstance(event, ToolCallFinished) and event.turn == 1:
                last_end, finished = now, finished + 1
            elif isinstance(event, TurnFinished) and event.turn == 1:
                turn_end = now
    return (last_end - first_start) * 1000, (turn_end - start) * 1000, finished


async def measure(base_url: str, runs: int, warmup: int) -> dict[str, Any]:
    """Warm up, then time ``runs`` runs of the latency workload."""
    model = KimiModel(MODEL_NAME, base_url=base_url, api_key="bench-key")
    agent = Agent(model=model, instructions=INSTRUCTIONS, tools=LATENCY_TOOLS)
    try:
        for _ in range(warmup):
            await _one(agent)
        samples = [await _one(agent) for _ in range(runs)]
    finally:
        await model.aclose()
    return {
        "client": "agentkit",
        "workload": "latency",
        "parallel_calls": LATENCY_CALLS,
        "runs": runs,
        "calls_finished": [s[2] for s in samples],
        "tool_phase_ms": [round(s[0], 3) for s in samples],
        "turn_ms": [round(s[1], 3) for s in samples],
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the options, measure and write the JSON line to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    ns = parser.parse_args(argv)
    report = anyio.run(measure, ns.base_url, ns.runs, ns.warmup, backend="asyncio")
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


if __name__ == "__main__":
    main()
