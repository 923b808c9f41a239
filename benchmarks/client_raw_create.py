"""A minimal hand-written agent loop on ``AsyncOpenAI.chat.completions.create`` (complete and stream).

It does what any agent loop must: send the conversation and tools, parse the
tool calls, run the Python tool functions concurrently, append the assistant
message and one tool message per call, and repeat until a text answer.
No framework; the baseline the ratios are taken against.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import openai

from benchmarks._harness import ClientOptions, RunOnce, main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT, wire_tools

_FUNCTIONS = {f.__name__: f for f in CPU_TOOLS}
_TOOLS: Any = wire_tools(tuple(_FUNCTIONS))
_MAX_TURNS = 20


async def _run_tools(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the calls concurrently and return their tool messages, in order."""
    results: list[dict[str, Any]] = [{} for _ in calls]

    async def one(index: int, call: dict[str, Any]) -> None:
        function = call["function"]
        value = await _FUNCTIONS[function["name"]](**json.loads(function["arguments"] or "{}"))
        results[index] = {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(value)}

    async with anyio.create_task_group() as tg:
        for index, call in enumerate(calls):
            tg.start_soon(one, index, call)
    return results


async def _complete(
    client: openai.AsyncOpenAI, messages: list[Any]
) -> tuple[str | None, list[dict[str, Any]]]:
    response = await client.chat.completions.create(
        model=MODEL_NAME, messages=messages, tools=_TOOLS, temperature=0.6, max_tokens=4096
    )
    message = response.choices[0].message
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.function.name, "arguments": c.function.arguments},
        }
        for c in message.tool_calls or ()
        if c.type == "function"
    ]
    return message.content, calls


async def _stream(client: openai.AsyncOpenAI, messages: list[Any]) -> tuple[str | None, list[dict[str, Any]]]:
    stream = await client.chat.completions.create(
        model=MODEL_NAME, messages=messages, tools=_TOOLS, temperature=0.6, max_tokens=4096, stream=True
    )
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    async for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            text.append(delta.content)
        for part in delta.tool_calls or ():
            call = calls.setdefault(
                part.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if part.id:
                call["id"] = part.id
            if part.function and part.function.name:
                call["function"]["name"] = part.function.name
            if part.function and part.function.arguments:
                call["function"]["arguments"] += part.function.arguments
    return ("".join(text) or None), [calls[i] for i in sorted(calls)]


@asynccontextmanager
async def runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """Yield one hand-written-loop run of the CPU workload, in ``options.mode``."""
    client = openai.AsyncOpenAI(base_url=options.base_url, api_key="bench-key", max_retries=0)
    call_model = _stream if options.mode == "stream" else _complete

    async def run_once() -> tuple[int, str]:
        messages: list[Any] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": PROMPT},
        ]
        for turn in range(1, _MAX_TURNS + 1):
            content, calls = await call_model(client, messages)
            if not calls:
                return turn, content or ""
            messages.append({"role": "assistant", "content": content, "tool_calls": calls})
            messages.extend(await _run_tools(calls))
        raise RuntimeError(f"no answer after {_MAX_TURNS} turns")

    try:
        yield run_once
    finally:
        await client.close()


if __name__ == "__main__":
    main("raw_create", runner)
