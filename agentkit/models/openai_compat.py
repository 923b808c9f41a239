"""Chat Completions over HTTP: sending, streaming, retries, errors.

The body is built by [`agentkit.models._openai_wire`][] as plain dicts, encoded with orjson and
sent with ``httpx2`` from one pooled client per event loop (`LoopClient` in `agentkit.models._http`);
streams are parsed by [`agentkit.models._openai_stream`][]. Retries follow the profile's
[`RetryPolicy`][agentkit.models.abstract.RetryPolicy] (`send_retrying`). A user-supplied
``openai.AsyncOpenAI`` (``openai_client=``) is used as it is, through `agentkit.models._openai_sdk`;
without one the openai SDK is never imported.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Self

import httpx2
import orjson

from agentkit._log import get_logger
from agentkit._secrets import register_secret
from agentkit._version import __version__
from agentkit.exceptions import (
    ContextOverflowError,
    ModelHTTPError,
    ModelResponseError,
    ModelRetiredError,
    UserError,
)
from agentkit.models._http import (
    DEFAULT_TIMEOUT,
    Failure,
    LoopClient,
    complete_nonempty,
    request_id,
    retry_delay_s,
    same_failure,
    send_retrying,
    server_wait_s,
    should_retry,
    stream_nonempty,
    transport_failure,
    with_retries,
)
from agentkit.models._openai_stream import SSELines, StreamAccumulator, fold_lines
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
    ToolDefinition,
)

if TYPE_CHECKING:
    import openai

__all__ = [
    "LLAMA_CPP_PROFILE",
    "OpenAICompatModel",
    # The retry rules live in agentkit.models._http (both providers use them); kept importable here.
    "retry_delay_s",
    "same_failure",
    "server_wait_s",
    "should_retry",
]

_log = get_logger("agentkit.models")

_REQUEST_ID_HEADERS: Final = ("x-request-id", "msh-request-id", "x-trace-id")
_TOOL_CACHE_SIZE: Final = 1024
_REDACTED: Final = "[redacted]"
#: Where requests go when neither ``base_url`` nor ``OPENAI_BASE_URL`` says (the SDK's default).
_OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
#: What httpx2 gives a client built without ``timeout=`` (the SDK replaces it with its own 600 s).
_HTTPX_DEFAULT_TIMEOUT: Final = httpx2.Timeout(5.0)


#: llama-cpp-python's OpenAI-compatible server (tested: 0.3.36, ``--chat_format
#: chatml-function-calling``): it answers ``tool_choice="required"`` with a 500, so "required"
#: is emulated with a nudge (a named tool is forced natively, by a grammar); it sends no usage in
#: streams, so streamed usage is estimated. See ``docs/self-hosted.md`` for the whole table.
LLAMA_CPP_PROFILE: Final = ModelProfile(supports_tool_choice_required=False)


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
        #: Raised by the first request when the model was built without the key it needs.
        self._missing_key: UserError | None = None
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        register_secret(api_key)  # kept out of traces, logs and CLI output (agentkit._secrets)
        self._sdk = openai_client
        if openai_client is not None:
            register_secret(openai_client.api_key)
            key, root = openai_client.api_key, str(openai_client.base_url)
        else:
            root = _with_slash(base_url or os.environ.get("OPENAI_BASE_URL") or _OPENAI_BASE_URL)
        self._key = key
        self._base_url = root
        self._urls: dict[str, httpx2.URL] = {}
        self._headers = _headers(key)
        # An owned pool carries the headers itself; an injected client's own headers come first.
        self._request_headers = self._headers if http_client is not None else None
        self._extensions = {"timeout": _timeout_of(http_client).as_dict()}
        self._pool = LoopClient(http_client, self._new_client)
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
        """The API root requests go to (with a trailing slash)."""
        return self._base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self._model_name!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client this model created (an injected client is left to its owner)."""
        await self._pool.aclose()

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

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Send ``request`` and yield deltas as they arrive, then the `ModelResponse`.

        Failures before the stream starts are retried; once it started nothing is re-sent and a
        broken or malformed stream raises `ModelResponseError`. An empty answer (which
        yields no delta) is asked for again, as in `complete`.
        """
        routed: list[dict[str, Any]] = []  # the body, built and routed by the first attempt
        return stream_nonempty(
            lambda: self._stream_once(request, routed), self._profile.retry, finish=self._noted
        )

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

    async def _stream_once(
        self, request: ModelRequest, routed: list[dict[str, Any]]
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        if not routed:
            routed.append(await self._routed(self.build_body(request, stream=True).body, request))
        body = routed[0]
        response, retries = await self._post(orjson.dumps(body), stream=True)
        accumulator = StreamAccumulator(hide_markup=self._profile.recover_tool_call_markup)
        lines = SSELines()
        done = False
        broken: ModelResponseError | None = None
        try:
            # The decoded body's pieces, cut into lines here: a piece usually holds one SSE event.
            async for piece in response.aiter_bytes():
                if done:
                    # Read the body to its end (as the openai SDK does): a response closed
                    # mid-body takes its connection with it, and every turn reconnects.
                    continue
                events, done = fold_lines(lines.feed(piece), accumulator)
                for event in events:
                    yield event
        except httpx2.HTTPError as exc:
            # Raised below, outside this block: the library's error (and its request) stays unchained.
            broken = ModelResponseError(f"stream broke after it started ({type(exc).__name__})")
        finally:
            await response.aclose()
        if broken is not None:
            raise broken
        if not done:  # a last line without a line break
            events, done = fold_lines(lines.flush(), accumulator)
            for event in events:
                yield event
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
        send = self._sdk_send_once if self._sdk is not None else self._send_once
        return await send_retrying(
            lambda: send(content, stream=stream, method=method, path=path),
            self._profile.retry,
            model_name=self._model_name,
        )

    async def _send_once(
        self, content: bytes | None, *, stream: bool, method: str, path: str
    ) -> httpx2.Response | Failure:
        """Send once with httpx2; return the response or the failure (the library's errors hold the key)."""
        client = self._pool.get()
        try:
            request = client.build_request(
                method,
                self._url(path),
                content=content,
                headers=self._request_headers,
                extensions=self._extensions,
            )
            response = await client.send(request, stream=stream)
        except (httpx2.HTTPError, OSError) as exc:
            return transport_failure(self._model_name, self._base_url, exc)
        if response.status_code < 400:
            return response
        try:
            await response.aread()
        except httpx2.HTTPError as exc:
            return transport_failure(self._model_name, self._base_url, exc)
        finally:
            await response.aclose()
        return self._status_failure(response.status_code, _error_body(response), response.headers)

    async def _sdk_send_once(
        self, content: bytes | None, *, stream: bool, method: str, path: str
    ) -> httpx2.Response | Failure:
        from agentkit.models._openai_sdk import sdk_send_once  # noqa: PLC0415 - openai_client= only

        assert self._sdk is not None
        return await sdk_send_once(
            self._sdk,
            content,
            stream=stream,
            method=method,
            path=path,
            model_name=self._model_name,
            status_failure=self._status_failure,
        )

    def _new_client(self) -> httpx2.AsyncClient:
        """An owned pool with the openai SDK's defaults (timeouts, limits, redirects) and our headers."""
        return httpx2.AsyncClient(
            headers=self._headers,
            timeout=DEFAULT_TIMEOUT,
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
            follow_redirects=True,
        )

    def _url(self, path: str) -> httpx2.URL:
        """The URL of ``path`` under the API root (parsed once per path)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx2.URL(self._base_url + path.lstrip("/"))
        return url

    def _status_failure(self, status_code: int, body: object, headers: Mapping[str, str]) -> Failure:
        """The failure for an HTTP error status; ``body`` is the decoded error (the ``error`` member)."""
        error_type: str | None = None
        message = ""
        if isinstance(body, Mapping):
            error_type = body.get("type") if isinstance(body.get("type"), str) else None
            message = str(body.get("message") or "")
        elif body is not None:
            message = str(body)[:200]
        message = self._redact(message or f"HTTP {status_code}")
        fields: dict[str, Any] = {
            "status_code": status_code,
            "error_type": error_type,
            "message": message,
            "request_id": request_id(headers, _REQUEST_ID_HEADERS),
            "model_name": self._model_name,
        }
        replacement = self._profile.retired_models.get(self._model_name)
        error: ModelHTTPError
        if status_code == 404 and error_type == "resource_not_found_error" and replacement:
            error = ModelRetiredError(replacement=replacement, **fields)
        elif self._profile.is_context_overflow(status_code, error_type, message):
            error = ContextOverflowError(**fields)
        else:
            error = ModelHTTPError(**fields)
        return Failure(error=error, wait_s=server_wait_s(headers, message))

    def _redact(self, text: str) -> str:
        key = self._key
        return text.replace(key, _REDACTED) if key and len(key) >= 8 else text


def _with_slash(base_url: str) -> str:
    """``base_url`` parsed (an invalid one fails here, at construction) and ending in ``/``."""
    url = httpx2.URL(base_url)
    if not url.raw_path.endswith(b"/"):
        url = url.copy_with(raw_path=url.raw_path + b"/")
    return str(url)


def _headers(key: str) -> dict[str, str]:
    """What every request carries; ``OPENAI_ORG_ID``/``OPENAI_PROJECT_ID`` are sent as the SDK sends them."""
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"agentkit/{__version__}",
    }
    for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        value = os.environ.get(env)
        if value:
            headers[header] = value
    return headers


def _timeout_of(client: httpx2.AsyncClient | None) -> httpx2.Timeout:
    """The timeouts to send with: an injected client's own, unless it kept httpx2's 5 s default."""
    if client is None or client.timeout == _HTTPX_DEFAULT_TIMEOUT:
        return DEFAULT_TIMEOUT
    return client.timeout


def _error_body(response: httpx2.Response) -> object:
    """The error an error response describes: its JSON's ``error`` member, the JSON, or the text."""
    text = response.text.strip()
    try:
        data: object = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return data.get("error", data) if isinstance(data, dict) else data


def _with_settings(request: ModelRequest, settings: ModelSettings) -> ModelRequest:
    return ModelRequest(
        messages=request.messages,
        tools=request.tools,
        tool_choice=request.tool_choice,
        settings=settings,
        response_format=request.response_format,
    )
