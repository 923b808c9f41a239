"""Anthropic Messages API over ``httpx2``: Moonshot's ``/anthropic`` endpoint, or any Messages server.

Why ``httpx2`` directly rather than the ``anthropic`` SDK: it is already installed (the openai
SDK depends on it), so the provider adds no dependency; the transport is the one seam tests and
users swap (an injected ``httpx2.AsyncClient``); and the retry loop and the client's life cycle
are the same code as [`OpenAICompatModel`][agentkit.models.openai_compat.OpenAICompatModel]'s
(`agentkit.models._http`, one [`RetryPolicy`][agentkit.models.abstract.RetryPolicy]), where the
SDK would bring its own retry loop, exception tree and response models to translate. The wire
mapping is pure, in [`agentkit.models._anthropic_wire`][].
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Final, Self

import httpx2
import orjson

from agentkit._log import get_logger
from agentkit._secrets import register_secret
from agentkit.exceptions import ModelHTTPError, ModelResponseError, UserError
from agentkit.models._anthropic_wire import MessagesStreamAccumulator, build_messages_body, parse_message_body
from agentkit.models._http import (
    Failure,
    LoopClient,
    complete_nonempty,
    request_id,
    response_lines,
    send_retrying,
    server_wait_s,
    stream_nonempty,
    transport_failure,
    with_retries,
)
from agentkit.models._openai_wire import decode_body
from agentkit.models.abstract import (
    ModelProfile,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ModelStreamEvent,
    RetryPolicy,
)
from agentkit.usage import PRICES

__all__ = [
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_VERSION",
    "MOONSHOT_ANTHROPIC_PROFILE",
    "MOONSHOT_ANTHROPIC_URL",
    "AnthropicCompatModel",
]

_log = get_logger("agentkit.models")

#: The ``anthropic-version`` header sent with every request.
ANTHROPIC_VERSION: Final = "2023-06-01"
#: Moonshot's Anthropic-compatible endpoint (Messages at ``/v1/messages``).
MOONSHOT_ANTHROPIC_URL: Final = "https://api.moonshot.ai/anthropic"
_REQUEST_ID_HEADERS: Final = ("request-id", "x-request-id", "msh-request-id", "x-trace-id")
_REDACTED: Final = "[redacted]"

#: A generic Messages server: 429, 5xx and 529 (overloaded) are retried.
ANTHROPIC_PROFILE: Final = ModelProfile(
    default_max_tokens=4096,
    temperature_range=(0.0, 1.0),
    supports_strict_schemas=False,
    retry=RetryPolicy(retry_statuses=frozenset({408, 409, 429, 500, 502, 503, 504, 529})),
)

#: Kimi-K2 behind Moonshot's Anthropic endpoint: Kimi prices and never-retry errors. The server
#: scales temperature (real = requested * 0.6), so the default 1.0 gives K2's recommended 0.6.
MOONSHOT_ANTHROPIC_PROFILE: Final = ModelProfile(
    default_temperature=1.0,
    default_max_tokens=4096,
    temperature_range=(0.0, 1.0),
    supports_strict_schemas=False,
    send_reasoning_content=True,
    max_tools=128,
    prices=PRICES,
    retry=RetryPolicy(
        max_retries=4,
        base_delay_s=1.0,
        max_delay_s=60.0,
        retry_statuses=frozenset({429, 500, 502, 503, 504, 529}),
        never_retry_error_types=frozenset(
            {
                "exceeded_current_quota_error",
                "content_filter",
                "invalid_request_error",
                "authentication_error",
                "invalid_authentication_error",
                "permission_error",
                "not_found_error",
            }
        ),
    ),
)


class AnthropicCompatModel:
    """A model behind an Anthropic Messages endpoint.

    Args:
        model_name: the model id sent on the wire (e.g. ``kimi-k2-0905-preview`` on Moonshot).
        base_url: the API root without ``/v1``; default ``ANTHROPIC_BASE_URL`` or Moonshot's.
        api_key: sent as ``x-api-key``; default ``ANTHROPIC_API_KEY``, then ``MOONSHOT_API_KEY``.
        profile: the server's rules (`MOONSHOT_ANTHROPIC_PROFILE` by default).
        http_client: the ``httpx2.AsyncClient`` to send through (left open: its owner closes it).
        settings: default settings, overridden per request by ``request.settings``.

    Raises:
        UserError: no API key was given or found in the environment.

    """

    def __init__(
        self,
        model_name: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        profile: ModelProfile = MOONSHOT_ANTHROPIC_PROFILE,
        http_client: httpx2.AsyncClient | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("MOONSHOT_API_KEY")
        if not key:
            raise UserError("no API key: pass api_key= or set ANTHROPIC_API_KEY / MOONSHOT_API_KEY")
        self._key = key
        register_secret(key)  # kept out of traces, logs and CLI output (agentkit._secrets)
        root = base_url or os.environ.get("ANTHROPIC_BASE_URL") or MOONSHOT_ANTHROPIC_URL
        self._url = root.rstrip("/") + "/v1/messages"
        self._model_name = model_name
        self._profile = profile
        self._settings = settings
        self._pool = LoopClient(
            http_client, lambda: httpx2.AsyncClient(timeout=httpx2.Timeout(600.0, connect=10.0))
        )

    @property
    def model_name(self) -> str:
        """The model's name, as sent on the wire."""
        return self._model_name

    @property
    def profile(self) -> ModelProfile:
        """The rules this model's server follows."""
        return self._profile

    @property
    def url(self) -> str:
        """Where Messages requests go."""
        return self._url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self._model_name!r}, url={self._url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client this model created (an injected one is left to its owner)."""
        await self._pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def build_body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """Return the wire body for ``request`` (this model's default settings merged in)."""
        if self._settings is not None:
            request = ModelRequest(
                messages=request.messages,
                tools=request.tools,
                tool_choice=request.tool_choice,
                settings=self._settings.merged(request.settings),
                response_format=request.response_format,
            )
        return build_messages_body(request, model_name=self._model_name, profile=self._profile, stream=stream)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer (retried per the profile's policy).

        Raises:
            ModelEmptyResponseError: the answers held no text, reasoning or tool call.
            ModelError: the request failed (see the subclasses).

        """
        body = self.build_body(request, stream=False)
        return await complete_nonempty(lambda: self._complete_once(body), self._profile.retry)

    async def _complete_once(self, body: dict[str, Any]) -> ModelResponse:
        response, retries = await self._post(orjson.dumps(body), stream=False)
        parsed = parse_message_body(
            decode_body(response.content),
            model_name=self._model_name,
            profile=self._profile,
            request_id=request_id(response.headers, _REQUEST_ID_HEADERS),
            wire_request=body,
        )
        return with_retries(parsed, retries)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Send ``request`` and yield deltas as they arrive, then the `ModelResponse`.

        Failures before the stream starts are retried; once it started nothing is re-sent. An
        empty answer (which yields no delta) is asked for again, as in `complete`.
        """
        body = self.build_body(request, stream=True)
        async with contextlib.aclosing(
            stream_nonempty(lambda: self._stream_once(body), self._profile.retry)
        ) as events:
            async for event in events:
                yield event

    async def _stream_once(self, body: dict[str, Any]) -> AsyncGenerator[ModelStreamEvent, None]:
        response, retries = await self._post(orjson.dumps(body), stream=True)
        accumulator = MessagesStreamAccumulator()
        try:
            async for line in response_lines(response):
                for event in accumulator.feed_line(line):
                    yield event
        finally:
            await response.aclose()
        if not accumulator.saw_stop:
            raise ModelResponseError(f"stream from {self._model_name} ended before message_stop")
        parsed = parse_message_body(
            accumulator.message_body(),
            model_name=self._model_name,
            profile=self._profile,
            request_id=request_id(response.headers, _REQUEST_ID_HEADERS),
            wire_request=body,
        )
        yield with_retries(parsed, retries)

    # --- sending --------------------------------------------------------------------------------

    async def _post(self, content: bytes, *, stream: bool) -> tuple[httpx2.Response, int]:
        """Send, retrying per the profile; return the response and how many attempts failed first."""
        return await send_retrying(
            lambda: self._send_once(content, stream=stream), self._profile.retry, model_name=self._model_name
        )

    async def _send_once(self, content: bytes, *, stream: bool) -> httpx2.Response | Failure:
        headers = {
            "x-api-key": self._key,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }
        client = self._pool.get()
        try:
            request = client.build_request("POST", self._url, content=content, headers=headers)
            response = await client.send(request, stream=stream)
        except httpx2.TransportError as exc:
            return transport_failure(self._model_name, str(self._url), exc)
        if response.status_code < 400:
            return response
        await response.aread()
        await response.aclose()
        return self._status_error(response)

    def _status_error(self, response: httpx2.Response) -> Failure:
        error_type: str | None = None
        message = ""
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, Mapping):
            error_type = error.get("type") if isinstance(error.get("type"), str) else None
            message = str(error.get("message") or "")
        else:
            message = response.text[:200]
        message = message or f"HTTP {response.status_code}"
        if len(self._key) >= 8:
            message = message.replace(self._key, _REDACTED)
        failure = ModelHTTPError(
            status_code=response.status_code,
            error_type=error_type,
            message=message,
            request_id=request_id(response.headers, _REQUEST_ID_HEADERS),
            model_name=self._model_name,
        )
        return Failure(error=failure, wait_s=server_wait_s(response.headers, message))
