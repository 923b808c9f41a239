"""HTTP plumbing the providers share: the client per event loop, retries, error mapping, lines.

Both providers send through `send_retrying` (the retry loop, driven by the profile's
`RetryPolicy` and the pure rules `should_retry`, `same_failure`,
`server_wait_s` and `retry_delay_s`) and hold their connection pool in a
`LoopClient`. An attempt's failure is a `Failure` value, never an exception carried
out of the HTTP library: those hold the request, and with it the API key.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import httpx2

from agentkit._log import get_logger
from agentkit.exceptions import (
    ModelConnectionError,
    ModelEmptyResponseError,
    ModelError,
    ModelHTTPError,
    ModelResponseError,
)
from agentkit.models.abstract import ModelResponse, ModelStreamEvent, RetryPolicy

__all__ = [
    "Failure",
    "LoopClient",
    "complete_nonempty",
    "connection_error",
    "current_loop",
    "is_empty_answer",
    "request_id",
    "response_lines",
    "retry_delay_s",
    "same_failure",
    "send_retrying",
    "server_wait_s",
    "should_retry",
    "stream_nonempty",
    "transport_failure",
    "with_retries",
]

_log = get_logger("agentkit.models")
_TRY_AGAIN = re.compile(r"try again (?:after|in) (\d+(?:\.\d+)?) ?s", re.IGNORECASE)
#: The openai SDK's defaults, which an owned pool keeps: 10 minutes to answer, 5 s to connect.
DEFAULT_TIMEOUT: Final = httpx2.Timeout(600.0, connect=5.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Failure:
    """One failed attempt: the error to raise and any wait the server asked for."""

    error: ModelError
    wait_s: float | None = None


# --- retry rules (pure) -------------------------------------------------------------------------


def should_retry(policy: RetryPolicy, error: ModelError, *, repeats: int = 1) -> bool:
    """Return whether ``error`` may be retried under ``policy`` (attempt budget aside).

    ``repeats`` is how many attempts in a row failed with this same error (see
    `same_failure`): a 500 seen ``policy.max_identical_500s`` times is not retried.
    """
    if isinstance(error, ModelConnectionError):
        return policy.retry_connection_errors and error.retryable
    if isinstance(error, ModelHTTPError):
        if error.error_type in policy.never_retry_error_types:
            return False
        if error.status_code == 500 and repeats >= policy.max_identical_500s:
            return False
        return error.status_code in policy.retry_statuses
    return False


def same_failure(previous: ModelError | None, error: ModelError) -> bool:
    """Whether two failed attempts failed the same way (HTTP status, error type and message)."""
    if not isinstance(previous, ModelHTTPError) or not isinstance(error, ModelHTTPError):
        return False
    return (previous.status_code, previous.error_type, previous.message) == (
        error.status_code,
        error.error_type,
        error.message,
    )


def server_wait_s(headers: Mapping[str, str], message: str, *, now: float | None = None) -> float | None:
    """Return the wait the server asked for, from ``Retry-After`` or "try again after N seconds"."""
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - (time.time() if now is None else now))
    match = _TRY_AGAIN.search(message)
    return float(match.group(1)) if match else None


def retry_delay_s(
    policy: RetryPolicy,
    attempt: int,
    wait_s: float | None = None,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """Return how long to sleep before retry number ``attempt`` (counting from 0).

    A server-stated wait wins (capped at ``max_delay_s``); otherwise exponential backoff
    ``base_delay_s * 2**attempt`` with "equal jitter" (between half and all of it), capped.
    """
    if wait_s is not None:
        return min(wait_s, policy.max_delay_s)
    backoff = min(policy.base_delay_s * 2.0**attempt, policy.max_delay_s)
    return backoff / 2 + backoff / 2 * rand()


async def send_retrying(
    send_once: Callable[[], Awaitable[httpx2.Response | Failure]], policy: RetryPolicy, *, model_name: str
) -> tuple[httpx2.Response, int]:
    """Call ``send_once`` until it answers, retrying per ``policy``; return it and the failed attempts.

    Raises:
        ModelError: the last attempt's error, once it may not be retried or the budget is spent
            (its ``retries`` says how many attempts were retried before it).
    """
    attempt = repeats = 0
    previous: ModelError | None = None
    while True:
        outcome = await send_once()
        if not isinstance(outcome, Failure):
            return outcome, attempt
        repeats = repeats + 1 if same_failure(previous, outcome.error) else 1
        previous = outcome.error
        if attempt >= policy.max_retries or not should_retry(policy, outcome.error, repeats=repeats):
            outcome.error.retries = attempt
            raise outcome.error
        delay = retry_delay_s(policy, attempt, outcome.wait_s)
        _log.warning(
            "model.retry",
            model=model_name,
            attempt=attempt + 1,
            max_retries=policy.max_retries,
            delay_s=round(delay, 3),
            error=str(outcome.error),
        )
        await anyio.sleep(delay)
        attempt += 1


# --- the connection pool ------------------------------------------------------------------------


class LoopClient:
    """The ``httpx2.AsyncClient`` a provider sends through: an injected one, or its own per event loop.

    An owned client's connection pool belongs to the event loop that first used it: a model
    used from a new loop (a second ``run_sync``), or after `aclose`, gets a fresh client.
    A pool from a loop that has ended cannot be closed from another one; it is dropped (a
    plain ``httpx2.AsyncClient`` schedules nothing when it is collected).
    """

    __slots__ = ("_client", "_factory", "_injected", "_loop")

    def __init__(
        self, injected: httpx2.AsyncClient | None, factory: Callable[[], httpx2.AsyncClient]
    ) -> None:
        self._injected = injected
        self._factory = factory
        self._client: httpx2.AsyncClient | None = None
        self._loop: object | None = None

    @property
    def injected(self) -> httpx2.AsyncClient | None:
        """The client the user supplied (left open: its owner closes it), if any."""
        return self._injected

    def get(self) -> httpx2.AsyncClient:
        """The client to send through now, from the running event loop."""
        if self._injected is not None:
            return self._injected
        loop = current_loop()
        client = self._client
        if client is None or self._loop is not loop:
            client = self._client = self._factory()
            self._loop = loop
        return client

    async def aclose(self) -> None:
        """Close the owned client when it belongs to the running loop; drop it either way."""
        client, self._client = self._client, None
        if client is not None and self._loop is current_loop():
            await client.aclose()
        self._loop = None


def transport_failure(model_name: str, url: str, exc: Exception) -> Failure:
    """The failure for an exception raised while sending (the exception itself is not kept)."""
    if isinstance(exc, httpx2.TimeoutException):
        return Failure(error=ModelConnectionError(f"{model_name} at {url}: timed out"))
    return Failure(error=connection_error(model_name, url, exc))


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
    open_stream: Callable[[], AsyncGenerator[ModelStreamEvent, None]],
    policy: RetryPolicy,
    *,
    finish: Callable[[ModelResponse], ModelResponse] | None = None,
) -> AsyncGenerator[ModelStreamEvent, None]:
    """Yield ``open_stream()``'s events, opening it again when the answer is empty.

    An empty answer yields no delta (there is no text, reasoning or call to show), so asking
    again repeats nothing the caller has seen. ``finish`` sees the final response before it
    is yielded (a provider's own checks), so a provider can return this generator as its
    ``stream`` without wrapping it in one more.

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
            final = with_retries(final, final.retries + empties)
            yield final if finish is None else finish(final)
            return
        empties += 1
        if empties > policy.empty_answer_retries:
            raise _empty_error(final, empties)
        _log_empty(final, empties, policy)
