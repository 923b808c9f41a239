"""The floor: a hand-written agent loop on plain ``httpx2.AsyncClient`` + orjson (complete and stream).

Same loop as ``client_raw_create`` but with no SDK: the body is a dict encoded
with orjson, the answer is decoded with orjson, SSE lines are parsed by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import orjson

from benchmarks._harness import ClientOptions, RunOnce, main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT, wire_tools

_FUNCTIONS = {f.__name__: f for f in CPU_TOOLS}
_TOOLS = wire_tools(tuple(_FUNCTIONS))
_MAX_TURNS = 20
_HEADERS = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}


async def _run_tools(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the calls concurrently and return their tool messages, in order."""
    results: list[dict[str, Any]] = [{} for _ in calls]

    async def one(index: int, call: dict[str, Any]) -> None:
        function = call["function"]
        value = await _FUNCTIONS[function["name"]](**orjson.loads(function["arguments"] or "{}"))
        results[index] = {"role": "tool", "tool_call_id": call["id"], "content": orjson.dumps(value).decode()}

    async with anyio.create_task_group() as tg:
        for index, call in enumerate(calls):
            tg.start_soon(one, index, call)
    return results


def _body(messages: list[dict[str, Any]], *, stream: bool) -> bytes:
    body = {
        "model": MODEL_NAME,
        "messages": messages,
        "tools": _TOOLS,
        "temperature": 0.6,
        "max_tokens": 4096,
        "stream": stream,
    }
    return orjson.dumps(body)


async def _complete(client: httpx2.AsyncClient, messages: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/chat/completions", content=_body(messages, stream=False))
    response.raise_for_status()
    message: dict[str, Any] = orjson.loads(response.content)["choices"][0]["message"]
    return message


async def _stream(client: httpx2.AsyncClient, messages: list[dict[str, Any]]) -> dict[str, Any]:
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    async with client.stream("POST", "/chat/completions", content=_body(messages, stream=True)) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = orjson.loads(line[6:])["choices"]
            delta = choices[0]["delta"] if choices else {}
            if delta.get("content"):
                text.append(delta["content"])
            for part in delta.get("tool_calls") or ():
                call = calls.setdefault(part["index"], {"id": "", "type": "function", "function": {}})
                if part.get("id"):
                    call["id"] = part["id"]
                function = part.get("function") or {}
                if function.get("name"):
                    call["function"]["name"] = function["name"]
                call["function"]["arguments"] = call["function"].get("arguments", "") + (
                    function.get("arguments") or ""
                )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


@asynccontextmanager
async def runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """Yield one plain-httpx run of the CPU workload, in ``options.mode``."""
    client = httpx2.AsyncClient(base_url=options.base_url, headers=_HEADERS, timeout=60.0)
    call_model = _stream if options.mode == "stream" else _complete

    async def run_once() -> tuple[int, str]:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": PROMPT},
        ]
        for turn in range(1, _MAX_TURNS + 1):
            message = await call_model(client, messages)
            calls = message.get("tool_calls")
            if not calls:
                return turn, message.get("content") or ""
            messages.append(message)
            messages.extend(await _run_tools(calls))
        raise RuntimeError(f"no answer after {_MAX_TURNS} turns")

    try:
        yield run_once
    finally:
        await client.aclose()


if __name__ == "__main__":
    main("httpx", runner)
