"""HTTP plumbing the providers share: the running event loop, request ids, response lines, retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace

import anyio.lowlevel
import httpx2

from agentkit.exceptions import ModelResponseError
from agentkit.models.abstract import ModelResponse

__all__ = ["current_loop", "request_id", "response_lines", "with_retries"]


def current_loop() -> object:
    """The running event loop itself (anyio's token objects differ on every call)."""
    return anyio.lowlevel.current_token().native_token


def request_id(headers: Mapping[str, str], names: Iterable[str]) -> str | None:
    """The first non-empty header among ``names`` (the provider's request-id headers)."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


async def response_lines(response: httpx2.Response) -> AsyncIterator[str]:
    """Yield the response's lines, turning transport failures into :class:`ModelResponseError`."""
    iterator = response.aiter_lines()
    while True:
        try:
            line = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except httpx2.HTTPError as exc:
            error = ModelResponseError(f"stream broke after it started ({type(exc).__name__})")
        else:
            yield line
            continue
        raise error


def with_retries(response: ModelResponse, retries: int) -> ModelResponse:
    """``response`` stamped with how many failed attempts were retried before it (0: as it is)."""
    return replace(response, retries=retries) if retries else response
