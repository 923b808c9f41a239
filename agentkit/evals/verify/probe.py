"""Send one suite request to an endpoint and record what came back, exactly as it came.

The verifier talks HTTP itself (httpx), not through agentkit's providers: the point is to see
the wire as a vendor serves it (arguments as strings, ids as sent, usage where it is or is
not), before any repair a provider would make. A streamed answer is assembled from its SSE
chunks by ``tool_calls[].index``. Response bodies are capped; nothing here raises for a bad
answer: a failure is an `Observation` with its error.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field

from agentkit.evals.verify.suite import SuiteCase

__all__ = ["Observation", "WireCall", "probe"]

_MAX_BODY = 4_000_000
_ERROR_CHARS = 300


class WireCall(BaseModel):
    """A tool call as the endpoint sent it (``arguments`` is the raw string, or ``None``)."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    arguments_type: str = "string"


class Observation(BaseModel):
    """One request and its answer.

    Attributes:
        case: the suite case's id; ``stream``: whether it was streamed; ``repetition``: which pass.
        status: the HTTP status (0: no answer); ``error``: why the request failed, if it did.
        latency_s: seconds until the whole answer was read.
        finish_reason, content, reasoning_content, tool_calls, usage: the answer as sent
            (``usage`` is ``None`` when the endpoint sent none).
    """

    model_config = ConfigDict(frozen=True)

    case: str
    stream: bool
    repetition: int = 0
    status: int = 0
    error: str | None = None
    latency_s: float = 0.0
    finish_reason: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[WireCall] = Field(default_factory=list)
    usage: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """The request succeeded: HTTP 200 and an answer that could be read."""
        return self.status == 200 and self.error is None


def _calls_from(message: dict[str, Any]) -> list[WireCall]:
    out = []
    for call in message.get("tool_calls") or ():
        if not isinstance(call, dict):
            out.append(WireCall(arguments_type=type(call).__name__))
            continue
        function = _dict(call.get("function"))
        raw = function.get("arguments")
        out.append(
            WireCall(
                id=call.get("id") if isinstance(call.get("id"), str) else None,
                name=function.get("name") if isinstance(function.get("name"), str) else None,
                arguments=raw
                if isinstance(raw, str)
                else (None if raw is None else orjson.dumps(raw).decode()),
                arguments_type="string" if isinstance(raw, str) else type(raw).__name__,
            )
        )
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _from_body(base: dict[str, Any], data: Any) -> Observation:
    choice = (data.get("choices") or [{}])[0] if isinstance(data, dict) else {}
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return Observation(**base, error="no choices[0].message in the answer")
    usage = data.get("usage")
    return Observation(
        **base,
        finish_reason=_text(choice.get("finish_reason")),
        content=_text(message.get("content")),
        reasoning_content=_text(message.get("reasoning_content")),
        tool_calls=_calls_from(message),
        usage=usage if isinstance(usage, dict) else None,
    )


class _Assembler:
    """Builds the answer from streamed chunks (deltas accumulated by tool-call index)."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if isinstance(choice.get("usage"), dict):  # Kimi puts it on the last choice
                self.usage = choice["usage"]
            self.finish = _text(choice.get("finish_reason")) or self.finish
            delta = _dict(choice.get("delta"))
            self.content.append(_text(delta.get("content")) or "")
            self.reasoning.append(_text(delta.get("reasoning_content")) or "")
            for part in delta.get("tool_calls") or ():
                if isinstance(part, dict):
                    self._call(part)

    def _call(self, part: dict[str, Any]) -> None:
        given = part.get("index")
        index = given if isinstance(given, int) else len(self.calls)
        call = self.calls.setdefault(index, {"id": None, "name": None, "arguments": ""})
        if isinstance(part.get("id"), str) and call["id"] is None:
            call["id"] = part["id"]
        function = _dict(part.get("function"))
        if isinstance(function.get("name"), str):
            call["name"] = (call["name"] or "") + function["name"]
        if isinstance(function.get("arguments"), str):
            call["arguments"] += function["arguments"]

    def observation(self, base: dict[str, Any]) -> Observation:
        return Observation(
            **base,
            finish_reason=self.finish,
            content="".join(self.content) or None,
            reasoning_content="".join(self.reasoning) or None,
            tool_calls=[WireCall(**self.calls[i]) for i in sorted(self.calls)],
            usage=self.usage,
        )


async def _streamed(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], base: dict[str, Any]
) -> Observation:
    assembler = _Assembler()
    async with client.stream("POST", url, json=body) as response:
        base["status"] = response.status_code
        if response.status_code != 200:
            text = (await response.aread())[:_ERROR_CHARS].decode(errors="replace")
            return Observation(**base, error=f"HTTP {response.status_code}: {text}")
        done, size = False, 0
        async for line in response.aiter_lines():
            size += len(line)
            if size > _MAX_BODY:
                return Observation(**base, error="the stream exceeded 4 MB")
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            try:
                assembler.feed(orjson.loads(payload))
            except orjson.JSONDecodeError:
                return Observation(**base, error=f"a stream chunk is not JSON: {payload[:80]!r}")
    if not done and assembler.finish is None:
        return Observation(**base, error="the stream ended without a finish_reason or [DONE]")
    return assembler.observation(base)


async def probe(
    client: httpx.AsyncClient,
    base_url: str,
    model: str,
    case: SuiteCase,
    *,
    stream: bool,
    repetition: int = 0,
    send_thinking: bool = True,
    max_tokens: int = 4096,
) -> Observation:
    """Send ``case`` to ``base_url`` (``.../v1``) and return what came back (never raises for its answer)."""
    url = base_url.rstrip("/") + "/chat/completions"
    body = case.body(model, stream=stream, send_thinking=send_thinking, max_tokens=max_tokens)
    base: dict[str, Any] = {"case": case.id, "stream": stream, "repetition": repetition}
    started = time.perf_counter()
    try:
        if stream:
            observation = await _streamed(client, url, body, base)
        else:
            response = await client.post(url, json=body)
            base["status"] = response.status_code
            raw = response.content[:_MAX_BODY]
            if response.status_code != 200:
                observation = Observation(
                    **base, error=f"HTTP {response.status_code}: {raw[:_ERROR_CHARS]!r}"
                )
            else:
                try:
                    observation = _from_body(base, orjson.loads(raw))
                except orjson.JSONDecodeError as err:
                    observation = Observation(**base, error=f"the answer is not JSON ({err})")
    except httpx.HTTPError as err:
        observation = Observation(**base, error=f"{type(err).__name__}: {str(err)[:_ERROR_CHARS]}")
    return observation.model_copy(update={"latency_s": time.perf_counter() - started})
