"""Chat Completions over HTTP through ``openai.AsyncOpenAI``: sending, streaming, retries, errors.

The body is built by [`agentkit.models._openai_wire`][] as plain dicts, encoded with orjson and
sent with the SDK's low-level ``post`` (``cast_to=httpx2.Response``), which skips the per-call
parameter processing and response model building of ``chat.completions.create``. The SDK's own
retries are off (``max_retries=0``); `RetryPolicy` in the profile decides instead.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.lowlevel
import httpx2
import orjson

from agentkit._log import get_logger
from agentkit._secrets import register_secret
from agentkit.exceptions import (
    ContextOverflowError,
    ModelConnectionError,
    ModelError,
    ModelHTTPError,
    ModelResponseError,
    ModelRetiredError,
    UserError,
)
from agentkit.models._http import (
    complete_nonempty,
    connection_error,
    current_loop,
    request_id,
    response_lines,
    stream_nonempty,
    with_retries,
)
from agentkit.models._openai_stream import StreamAccumulator, parse_sse_line
from agentkit.models._openai_wire import (
    WireRequest,
    build_request_body,
    decode_body,
    parse_response,
    tool_to_wire,
)
from agentkit.models.abstract import (
    ModelProfile,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ModelStreamEvent,
    RetryPolicy,
    ToolDefinition,
)

if TYPE_CHECKING:
    import openai

__all__ = [
    "LLAMA_CPP_PROFILE",
    "OpenAICompatModel",
    "retry_delay_s",
    "same_failure",
    "server_wait_s",
    "should_retry",
]

_log = get_logger("agentkit.models")

_HEADERS: Final[openai.RequestOptions] = {"headers": {"Content-Type": "application/json"}}
_REQUEST_ID_HEADERS: Final = ("x-request-id", "msh-request-id", "x-trace-id")
_TRY_AGAIN = re.compile(r"try again (?:after|in) (\d+(?:\.\d+)?) ?s", re.IGNORECASE)
_TOOL_CACHE_SIZE: Final = 1024
_REDACTED: Final = "[redacted]"


@dataclass(frozen=True, kw_only=True, slots=True)
class _Failure:
    """One failed attempt: the error to raise and any wait the server asked for."""

    error: ModelError
    wait_s: float | None = None


#: llama-cpp-python's OpenAI-compatible server (tested: 0.3.36, ``--chat_format
#: chatml-function-calling``): it answers ``tool_choice="required"`` with a 500, so "required"
#: is emulated with a nudge (a named tool is forced natively, by a grammar); it sends no usage in
#: streams, so streamed usage is estimated. See ``docs/self-hosted.md`` for the whole table.
LLAMA_CPP_PROFILE: Final = ModelProfile(supports_tool_choice_required=False)


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


# --- the model ----------------------------------------------------------------------------------


class OpenAICompatModel:
    """A model behind an OpenAI-compatible Chat Completions endpoint (vLLM, SGLang, OpenAI, Kimi).

    Args:
        model_name: the model id sent on the wire.
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        api_key: the bearer key; ``None`` reads ``OPENAI_API_KEY`` or sends a placeholder
            (self-hosted servers usually need none).
        profile: the server's rules and quirks.
        http_client: the ``httpx2.AsyncClient`` to send through (connection pool, transport).
        openai_client: a ready ``openai.AsyncOpenAI``; when given, ``base_url``/``api_key``/
            ``http_client`` are ignored. Its own retries should be off (``max_retries=0``).
        settings: default settings, overridden per request by ``request.settings``.

    """

    def __init__(
        self,
        model_name: str,
        *,
        base_url: str | None,
        api_key: str | None = None,
        profile: ModelProfile | None = None,
        http_client: httpx2.AsyncClient | None = None,
        openai_client: openai.AsyncOpenAI | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        self._owns_client = openai_client is None and http_client is None
        #: Raised by the first request when the model was built without the key it needs.
        self._missing_key: UserError | None = None
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        register_secret(api_key)  # kept out of traces, logs and CLI output (agentkit._secrets)
        if openai_client is not None:
            register_secret(openai_client.api_key)

        def make_client() -> openai.AsyncOpenAI:
            import openai  # noqa: PLC0415 - the SDK loads when a provider is made, not on import

            # An owned pool is a plain httpx client with the SDK's defaults, not the SDK's own
            # wrapper: dropped after its event loop ended, the wrapper would schedule its close
            # on whatever loop runs then, where it fails with "Event loop is closed".
            pool = http_client if http_client is not None else openai.DefaultAsyncHttpxClient()
            return openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, http_client=pool)

        self._make_client = make_client
        self._client = openai_client if openai_client is not None else make_client()
        # An owned client's connection pool belongs to the event loop that first used it;
        # a model used from a new loop (a second ``run_sync``) gets a fresh client.
        self._client_loop: object | None = None
        self._client_closed = False
        self._model_name = model_name
        self._profile = profile if profile is not None else ModelProfile()
        self._settings = settings
        self._tool_cache: dict[int, tuple[ToolDefinition, dict[str, Any]]] = {}
        self._warned_usage = False

    @property
    def model_name(self) -> str:
        """The model's name, as sent on the wire."""
        return self._model_name

    @property
    def profile(self) -> ModelProfile:
        """The rules this model's server follows."""
        return self._profile

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return str(self._client.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self._model_name!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client this model created (an injected client is left to its owner)."""
        if not self._owns_client or self._client_closed:
            return
        if self._client_loop is None or self._client_loop is current_loop():
            await self._client.close()
        # A pool from an event loop that has ended cannot be closed from this one; it is dropped.
        self._client_closed = True
        self._client_loop = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- building -------------------------------------------------------------------------------

    def build_body(self, request: ModelRequest, *, stream: bool) -> WireRequest:
        """Return the wire body for ``request`` (this model's default settings merged in).

        ``tool_choice_emulated`` on the result says whether ``"required"`` had to be emulated;
        tracing can call this to record it (the body is a pure function of the request).
        """
        if self._settings is not None:
            request = _with_settings(request, self._settings.merged(request.settings))
        tools_wire = [self._tool_wire(t) for t in request.tools]
        return build_request_body(
            request, model_name=self._model_name, profile=self._profile, stream=stream, tools_wire=tools_wire
        )

    def _tool_wire(self, tool: ToolDefinition) -> dict[str, Any]:
        cached = self._tool_cache.get(id(tool))
        if cached is not None and cached[0] is tool:
            return cached[1]
        wire = tool_to_wire(tool, self._profile)
        if len(self._tool_cache) >= _TOOL_CACHE_SIZE:
            self._tool_cache.clear()
        self._tool_cache[id(tool)] = (tool, wire)
        return wire

    # --- the Model protocol ---------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer (retried per the profile's policy).

        Raises:
            ModelEmptyResponseError: the answers held no text, reasoning or tool call.
            ModelError: the request failed (see the subclasses).

        """
        body = await self._routed(self.build_body(request, stream=False).body, request)
        response = await complete_nonempty(lambda: self._complete_once(body), self._profile.retry)
        return self._noted(response)

    async def _complete_once(self, body: dict[str, Any]) -> ModelResponse:
        response, retries = await self._post(orjson.dumps(body), stream=False)
        data = decode_body(response.content)
        parsed = parse_response(
            data,
            model_name=body["model"],
            profile=self._profile,
            request_id=request_id(response.headers, _REQUEST_ID_HEADERS),
            wire_request=body,
        )
        return with_retries(parsed, retries)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Send ``request`` and yield deltas as they arrive, then the `ModelResponse`.

        Failures before the stream starts are retried; once it started nothing is re-sent and a
        broken or malformed stream raises `ModelResponseError`. An empty answer (which
        yields no delta) is asked for again, as in `complete`.
        """
        body = await self._routed(self.build_body(request, stream=True).body, request)
        async with contextlib.aclosing(
            stream_nonempty(lambda: self._stream_once(body), self._profile.retry)
        ) as events:
            async for event in events:
                yield self._noted(event) if isinstance(event, ModelResponse) else event

    def _noted(self, response: ModelResponse) -> ModelResponse:
        """Warn (once per model) when the server reported no usage and the figures are estimates."""
        if response.usage.estimated_requests and not self._warned_usage:
            self._warned_usage = True
            _log.warning(
                "model.usage_estimated",
                model=self._model_name,
                reason="the server reported no usage: token counts are estimates (Usage.estimated_requests)",
            )
        return response

    async def _stream_once(self, body: dict[str, Any]) -> AsyncGenerator[ModelStreamEvent, None]:
        response, retries = await self._post(orjson.dumps(body), stream=True)
        accumulator = StreamAccumulator(hide_markup=self._profile.recover_tool_call_markup)
        try:
            done = False
            async for line in response_lines(response):
                if done:
                    # Read the body to its end (as the openai SDK does): a response closed
                    # mid-body takes its connection with it, and every turn reconnects.
                    continue
                chunk = parse_sse_line(line)
                if chunk is None:
                    continue
                if isinstance(chunk, str):  # the [DONE] terminator
                    done = True
                    continue
                for event in accumulator.feed(chunk):
                    yield event
        finally:
            await response.aclose()
        if not done and not accumulator.saw_finish:
            raise ModelResponseError(f"stream from {self._model_name} ended before it finished")
        for event in accumulator.flush():
            yield event
        parsed = parse_response(
            accumulator.wire_body(),
            model_name=body["model"],
            profile=self._profile,
            request_id=request_id(response.headers, _REQUEST_ID_HEADERS),
            wire_request=body,
        )
        yield with_retries(parsed, retries)

    async def choose_model(self, body: Mapping[str, Any], request: ModelRequest | None = None) -> str:
        """Return the model to send ``body`` (built from ``request``) to.

        This one, unless a subclass routes by size (`KimiAutoModel`).
        """
        return self._model_name

    async def _routed(self, body: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
        name = await self.choose_model(body, request)
        return body if name == body["model"] else {**body, "model": name}

    async def request_json(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one request to another endpoint of this API (same client, retries and errors).

        Returns:
            The decoded JSON object the server answered with.

        Raises:
            ModelHTTPError: the server answered with an error status.
            ModelConnectionError: the server could not be reached.
            ModelResponseError: the answer is not a JSON object.

        """
        content = orjson.dumps(body) if body is not None else None
        response, _ = await self._post(content, stream=False, method=method, path=path)
        return decode_body(response.content)

    # --- sending --------------------------------------------------------------------------------

    def check_key(self) -> None:
        """Raise now what the first request would: the key this model needs is missing.

        Raises:
            UserError: the model was built without the API key its endpoint needs.
        """
        if self._missing_key is not None:
            raise self._missing_key

    async def _post(
        self, content: bytes | None, *, stream: bool, method: str = "POST", path: str = "/chat/completions"
    ) -> tuple[httpx2.Response, int]:
        """Send, retrying per the profile; return the response and how many attempts failed first."""
        self.check_key()  # checked when a request is made, not at construction
        policy = self._profile.retry
        attempt = repeats = 0
        previous: ModelError | None = None
        while True:
            outcome = await self._send_once(content, stream=stream, method=method, path=path)
            if isinstance(outcome, httpx2.Response):
                return outcome, attempt
            repeats = repeats + 1 if same_failure(previous, outcome.error) else 1
            previous = outcome.error
            if attempt >= policy.max_retries or not should_retry(policy, outcome.error, repeats=repeats):
                outcome.error.retries = attempt
                raise outcome.error
            delay = retry_delay_s(policy, attempt, outcome.wait_s)
            _log.warning(
                "model.retry",
                model=self._model_name,
                attempt=attempt + 1,
                max_retries=policy.max_retries,
                delay_s=round(delay, 3),
                error=str(outcome.error),
            )
            await anyio.sleep(delay)
            attempt += 1

    async def _send_once(
        self, content: bytes | None, *, stream: bool, method: str, path: str
    ) -> httpx2.Response | _Failure:
        """Send once; return the response or the failure (never raising SDK errors, which carry the key)."""
        client = self._live_client()
        import openai  # noqa: PLC0415 - the SDK loads when a provider is made, not on import

        try:
            if method == "GET":
                return await client.get(path, cast_to=httpx2.Response, options=_HEADERS)
            return await client.post(
                path, cast_to=httpx2.Response, content=content, options=_HEADERS, stream=stream
            )
        except openai.APIStatusError as exc:
            failure = self._status_failure(exc)
        except openai.APITimeoutError:
            failure = _Failure(
                error=ModelConnectionError(f"{self._model_name} at {self.base_url}: timed out")
            )
        except openai.APIConnectionError as exc:
            failure = _Failure(error=connection_error(self._model_name, str(self.base_url), exc))
        return failure

    def _live_client(self) -> openai.AsyncOpenAI:
        """The client to send through: an owned one is renewed after aclose() or in a new event loop."""
        if not self._owns_client:
            return self._client
        loop = current_loop()
        if self._client_closed or (self._client_loop is not None and loop is not self._client_loop):
            self._client = self._make_client()
            self._client_closed = False
        self._client_loop = loop
        return self._client

    def _status_failure(self, exc: openai.APIStatusError) -> _Failure:
        body = exc.body
        error_type: str | None = None
        message = ""
        if isinstance(body, Mapping):
            error_type = body.get("type") if isinstance(body.get("type"), str) else None
            message = str(body.get("message") or "")
        elif body is not None:
            message = str(body)[:200]
        message = self._redact(message or f"HTTP {exc.status_code}")
        headers = exc.response.headers
        fields: dict[str, Any] = {
            "status_code": exc.status_code,
            "error_type": error_type,
            "message": message,
            "request_id": request_id(headers, _REQUEST_ID_HEADERS),
            "model_name": self._model_name,
        }
        replacement = self._profile.retired_models.get(self._model_name)
        error: ModelHTTPError
        if exc.status_code == 404 and error_type == "resource_not_found_error" and replacement:
            error = ModelRetiredError(replacement=replacement, **fields)
        elif self._profile.is_context_overflow(exc.status_code, error_type, message):
            error = ContextOverflowError(**fields)
        else:
            error = ModelHTTPError(**fields)
        return _Failure(error=error, wait_s=server_wait_s(headers, message))

    def _redact(self, text: str) -> str:
        key = self._client.api_key
        return text.replace(key, _REDACTED) if key and len(key) >= 8 else text


def _with_settings(request: ModelRequest, settings: ModelSettings) -> ModelRequest:
    return ModelRequest(
        messages=request.messages,
        tools=request.tools,
        tool_choice=request.tool_choice,
        settings=settings,
        response_format=request.response_format,
    )
