"""openai-agents: ``Agent`` + ``OpenAIChatCompletionsModel`` pointed at the loopback server.

Runs only in ``.bench-venv`` (``pip install openai-agents``). Tracing is
disabled: its exporter would send spans to OpenAI, and nothing here may leave
the machine. Tool schemas are not strict (Kimi does not support strict schemas).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import openai

# Installed only in .bench-venv, so the project's type checker never sees it.
from agents import (  # type: ignore[import-not-found, unused-ignore]
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)

from benchmarks._harness import ClientOptions, RunOnce, main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT


@asynccontextmanager
async def runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """Yield one openai-agents run of the CPU workload, in ``options.mode``."""
    set_tracing_disabled(disabled=True)
    client = openai.AsyncOpenAI(base_url=options.base_url, api_key="bench-key", max_retries=0)
    agent = Agent(
        name="travel",
        instructions=INSTRUCTIONS,
        model=OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=client),
        model_settings=ModelSettings(temperature=0.6, max_tokens=4096),
        tools=[function_tool(f, strict_mode=False) for f in CPU_TOOLS],
    )
    config = RunConfig(tracing_disabled=True)

    async def complete() -> tuple[int, str]:
        result = await Runner.run(agent, PROMPT, run_config=config)
        return len(result.raw_responses), str(result.final_output)

    async def stream() -> tuple[int, str]:
        result = Runner.run_streamed(agent, PROMPT, run_config=config)
        async for _event in result.stream_events():
            pass
        return len(result.raw_responses), str(result.final_output)

    try:
        yield stream if options.mode == "stream" else complete
    finally:
        await client.close()


if __name__ == "__main__":
    main("openai_agents", runner)
