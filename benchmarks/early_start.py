"""Tools that start mid-stream vs waiting for the whole message: one turn's wall time.

The loopback fake Kimi server streams one message of parallel tool calls, pacing its
SSE events (``Reply.chunk_delay_s``); each tool sleeps. Two ways of running the turn,
over the very same paced stream:

- ``early``: ``agent.stream()`` as shipped: each call starts once its arguments are a
  complete JSON object in the stream;
- ``wait``: the same agent and stream behind a wrapper model that holds every delta
  back until the message has ended, so calls start after the whole message (what
  waiting for the full message costs).

Measured: the first turn's wall time, from ``ModelCallStarted(turn=1)`` to
``TurnFinished(turn=1)``, median and min-max over ``--runs`` runs, for two scenarios:
``equal`` (4 calls, every tool 200 ms: the issue's case) and ``slow-first`` (the same,
but the first call's tool takes 1 s). The server runs in a thread of this process
(its pacing is ``time.sleep``, so it costs no CPU to speak of).

``.venv/bin/python benchmarks/early_start.py [--runs 7] [--chunk-ms 50] [--tool-ms 200]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import anyio

from agentkit import Agent, tool
from agentkit.events import ModelCallStarted, TurnFinished
from agentkit.models import KimiModel
from agentkit.models.abstract import ModelRequest, ModelResponse, ModelStreamEvent
from agentkit.testing import FakeKimiServer, Reply


@tool
async def slow_lookup(key: str, ms: int) -> str:
    """Look a key up slowly.

    Args:
        key: What to look up.
        ms: How long the lookup takes, in milliseconds.
    """
    await anyio.sleep(ms / 1000)
    return f"value of {key}"


class WholeMessage:
    """Wraps a model so the loop sees a streamed message only once it has fully arrived."""

    def __init__(self, inner: KimiModel) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        """The wrapped model's name."""
        return self.inner.model_name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Unused by streaming runs; delegates."""
        return await self.inner.complete(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Collect the whole stream, then yield it."""
        held = [event async for event in self.inner.stream(request)]
        for event in held:
            yield event


def _responder(tool_ms: list[int], chunk_s: float) -> Callable[[dict[str, Any]], Reply]:
    def respond(body: dict[str, Any]) -> Reply:
        answered = sum(1 for m in body.get("messages", []) if m.get("role") == "tool")
        if answered:
            return Reply.text("done")
        calls = [("slow_lookup", {"key": f"k{i}", "ms": ms}) for i, ms in enumerate(tool_ms)]
        return replace(Reply.tool_calls(*calls), chunk_delay_s=chunk_s)

    return respond


async def _turn_ms(agent: Agent[str]) -> float:
    started = ended = 0.0
    async with agent.stream("Look the keys up.") as run:
        async for event in run:
            if isinstance(event, ModelCallStarted) and event.turn == 1:
                started = time.perf_counter()
            elif isinstance(event, TurnFinished) and event.turn == 1:
                ended = time.perf_counter()
    return (ended - started) * 1000


async def _scenario(tool_ms: list[int], chunk_s: float, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"early": [], "wait": []}
    with FakeKimiServer(_responder(tool_ms, chunk_s)) as server:
        async with KimiModel(base_url=server.base_url, api_key="bench-key") as kimi:
            agents = {
                "early": Agent(kimi, tools=[slow_lookup]),
                "wait": Agent(WholeMessage(kimi), tools=[slow_lookup]),
            }
            for _ in range(runs):  # interleaved, so drift hits both alike
                for mode, agent in agents.items():
                    samples[mode].append(await _turn_ms(agent))
    return samples


def _line(name: str, samples: dict[str, list[float]]) -> str:
    early, wait = statistics.median(samples["early"]), statistics.median(samples["wait"])
    spread = {k: f"{min(v):.0f}-{max(v):.0f}" for k, v in samples.items()}
    return (
        f"| {name} | {wait:.0f} ({spread['wait']}) | {early:.0f} ({spread['early']}) "
        f"| {wait - early:.0f} ms ({(wait - early) / wait:.0%}) |"
    )


async def main(runs: int, chunk_ms: int, tool_ms: int) -> None:
    """Measure both scenarios and print a Markdown table."""
    chunk_s = chunk_ms / 1000
    scenarios = {
        f"equal: 4 calls x {tool_ms} ms": [tool_ms] * 4,
        f"slow-first: 1000 ms + 3 x {tool_ms} ms": [1000] + [tool_ms] * 3,
    }
    out = [
        f"Turn wall time, ms: median (min-max) of {runs} runs; SSE events {chunk_ms} ms apart.",
        "",
        "| scenario | wait for the message | start mid-stream | saved |",
        "|---|---:|---:|---:|",
    ]
    for name, durations in scenarios.items():
        out.append(_line(name, await _scenario(durations, chunk_s, runs)))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chunk-ms", type=int, default=50)
    parser.add_argument("--tool-ms", type=int, default=200)
    ns = parser.parse_args()
    anyio.run(main, ns.runs, ns.chunk_ms, ns.tool_ms, backend="asyncio")
