"""agentkit: ``Agent`` + ``KimiModel`` pointed at the loopback server (complete and stream modes).

``python -m benchmarks.client_agentkit --base-url URL [--mode stream] [--runs N] [--concurrency C]``
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agentkit import Agent
from agentkit.models import KimiModel
from benchmarks._harness import ClientOptions, RunOnce, main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT


@asynccontextmanager
async def runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """Yield one agentkit run of the CPU workload, in ``options.mode``."""
    model = KimiModel(MODEL_NAME, base_url=options.base_url, api_key="bench-key")
    agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS)

    async def complete() -> tuple[int, str]:
        result = await agent.run(PROMPT)
        return result.turns, result.output

    async def stream() -> tuple[int, str]:
        async with agent.stream(PROMPT) as run:
            async for _event in run:
                pass
        return run.result.turns, run.result.output

    try:
        yield stream if options.mode == "stream" else complete
    finally:
        await model.aclose()


if __name__ == "__main__":
    main("agentkit", runner)
