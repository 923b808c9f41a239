"""HTTP plumbing the providers share: the running event loop, request ids, response lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping

import anyio.lowlevel
import httpx2

from agentkit.exceptions import ModelResponseError

__all__ = ["current_loop", "request_id", "response_lines"]


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
