"""HTTP plumbing the providers share: the running event loop, request ids, response lines, retries."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from urllib.parse import urlsplit

import anyio.lowlevel
import httpx2

from agentkit._log import get_logger
from agentkit.exceptions import ModelConnectionError, ModelEmptyResponseError, ModelResponseError
from agentkit.models.abstract import ModelResponse, ModelStreamEvent, RetryPolicy

__all__ = [
    "complete_nonempty",
    "connection_error",
    "current_loop",
    "is_empty_answer",
    "request_id",
    "response_lines",
    "stream_nonempty",
    "with_retries",
]

_log = get_logger("agentkit.models")


def connection_error(model_name: str, url: str, exc: BaseException) -> ModelConnectionError:
    """The error for a failed connection; a refusal on loopback is final (nothing listens there).

    >>> connection_error("m", "http://127.0.0.1:9/v1", ConnectionRefusedError()).retryable
    False
    >>> connection_error("m", "https://api.moonshot.ai/v1", ConnectionRefusedError()).retryable
    True
    """
    if isinstance(exc, TimeoutError | httpx2.TimeoutException) or "Timeout" in type(exc).__name__:
        return ModelConnectionError(f"{model_name} at {url}: timed out")
    refused = any(isinstance(e, ConnectionRefusedError) for e in _chain(exc))
    if refused and _is_loopback(urlsplit(url).hostname):
        return ModelConnectionError(
            f"{model_name} at {url}: connection refused (nothing listens there; not retried)",
            retryable=False,
        )
    return ModelConnectionError(f"{model_name} at {url}: could not connect")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    """Yield the response's lines, turning transport failures into `ModelResponseError`."""
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


def is_empty_answer(response: ModelResponse) -> bool:
    """Whether the answer holds nothing: no text, no reasoning, no tool calls."""
    message = response.message
    return not message.tool_calls and not message.content and not message.reasoning_content


def _empty_error(response: ModelResponse, attempts: int) -> ModelEmptyResponseError:
    error = ModelEmptyResponseError(
        f"{response.model_name} gave an empty answer (no text, no tool calls; finish_reason="
        f"{response.finish_reason!r}, output tokens {response.usage.output_tokens}) "
        f"{attempts} time{'s' if attempts > 1 else ''}",
        finish_reason=response.finish_reason,
    )
    error.retries = attempts - 1 + response.retries
    return error


def _log_empty(response: ModelResponse, attempt: int, policy: RetryPolicy) -> None:
    _log.warning(
        "model.empty_answer",
        model=response.model_name,
        attempt=attempt,
        max_retries=policy.empty_answer_retries,
        finish_reason=response.finish_reason,
    )


async def complete_nonempty(
    send: Callable[[], Awaitable[ModelResponse]], policy: RetryPolicy
) -> ModelResponse:
    """Return ``send()``'s answer, asking again when it is empty (``policy.empty_answer_retries``).

    Raises:
        ModelEmptyResponseError: every answer was empty.

    """
    empties = 0
    while True:
        response = await send()
        if not is_empty_answer(response):
            return with_retries(response, response.retries + empties)
        empties += 1
        if empties > policy.empty_answer_retries:
            raise _empty_error(response, empties)
        _log_empty(response, empties, policy)


async def stream_nonempty(
    open_stream: Callable[[], AsyncGenerator[ModelStreamEvent, None]], policy: RetryPolicy
) -> AsyncGenerator[ModelStreamEvent, None]:
    """Yield ``open_stream()``'s events, opening it again when the answer is empty.

    An empty answer yields no delta (there is no text, reasoning or call to show), so asking
    again repeats nothing the caller has seen.

    Raises:
        ModelEmptyResponseError: every answer was empty.

    """
    empties = 0
    while True:
        final: ModelResponse | None = None
        async with contextlib.aclosing(open_stream()) as events:
            async for event in events:
                if isinstance(event, ModelResponse):
                    final = event
                else:
                    yield event
        if final is None:
            raise ModelResponseError("the model's stream ended without a response")
        if not is_empty_answer(final):
            yield with_retries(final, final.retries + empties)
            return
        empties += 1
        if empties > policy.empty_answer_retries:
            raise _empty_error(final, empties)
        _log_empty(final, empties, policy)
