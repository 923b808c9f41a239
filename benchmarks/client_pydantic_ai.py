"""pydantic-ai: ``Agent`` + ``OpenAIChatModel`` with its Moonshot AI provider pointed at the loopback server.

Runs only in ``.bench-venv`` (``pip install pydantic-ai``). Stream mode uses
``run_stream_events``, which streams every model response of the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

# Installed only in .bench-venv, so the project's type checker never sees it.
from pydantic_ai import Agent, AgentRunResultEvent  # type: ignore[import-not-found, unused-ignore]
from pydantic_ai.models.openai import OpenAIChatModel  # type: ignore[import-not-found, unused-ignore]
from pydantic_ai.providers.moonshotai import (  # type: ignore[import-not-found, unused-ignore]
    MoonshotAIProvider,
)

from benchmarks._harness import ClientOptions, RunOnce, main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT


@asynccontextmanager
async def runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """Yield one pydantic-ai run of the CPU workload, in ``options.mode``."""
    provider = MoonshotAIProvider(api_key="bench-key", base_url=options.base_url)
    agent: Any = Agent(
        OpenAIChatModel(MODEL_NAME, provider=provider),
        instructions=INSTRUCTIONS,
        tools=list(CPU_TOOLS),
        model_settings={"temperature": 0.6, "max_tokens": 4096},
    )

    async def complete() -> tuple[int, str]:
        result = await agent.run(PROMPT)
        return int(result.usage.requests), str(result.output)

    async def stream() -> tuple[int, str]:
        final: Any = None
        async with agent.run_stream_events(PROMPT) as events:
            async for event in events:
                if isinstance(event, AgentRunResultEvent):
                    final = event.result
        if final is None:
            raise RuntimeError("pydantic-ai stream ended without a result")
        return int(final.usage.requests), str(final.output)

    try:
        yield stream if options.mode == "stream" else complete
    finally:
        await provider.client.close()


if __name__ == "__main__":
    main("pydantic_ai", runner)
