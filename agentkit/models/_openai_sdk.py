"""Sending through a user-supplied ``openai.AsyncOpenAI`` (``OpenAICompatModel(openai_client=...)``).

agentkit's own path is plain ``httpx2`` (`agentkit.models.openai_compat`); a client the user
built keeps its own settings (base URL, key, headers, timeouts, transport), so requests go
through its low-level ``post``/``get`` with ``cast_to=httpx2.Response``, which skips the
parameter processing and response models of ``chat.completions.create``. Its retries should be
off (``max_retries=0``): the profile's `RetryPolicy` decides.
The SDK's exceptions become `Failure` values here and are never
raised on: they hold the request, and with it the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import httpx2
import openai

from agentkit.exceptions import ModelConnectionError
from agentkit.models._http import Failure, connection_error

__all__ = ["StatusFailure", "sdk_send_once"]

#: Builds the failure for an HTTP error status from (status code, decoded error body, headers).
StatusFailure = Callable[[int, object, Mapping[str, str]], Failure]

_HEADERS: Final[openai.RequestOptions] = {"headers": {"Content-Type": "application/json"}}


async def sdk_send_once(
    client: openai.AsyncOpenAI,
    content: bytes | None,
    *,
    stream: bool,
    method: str,
    path: str,
    model_name: str,
    status_failure: StatusFailure,
) -> httpx2.Response | Failure:
    """Send once through ``client``; return the response, or the failure the SDK raised."""
    try:
        if method == "GET":
            return await client.get(path, cast_to=httpx2.Response, options=_HEADERS)
        return await client.post(
            path, cast_to=httpx2.Response, content=content, options=_HEADERS, stream=stream
        )
    except openai.APIStatusError as exc:
        return status_failure(exc.status_code, exc.body, exc.response.headers)
    except openai.APITimeoutError:
        return Failure(error=ModelConnectionError(f"{model_name} at {client.base_url}: timed out"))
    except openai.APIConnectionError as exc:
        return Failure(error=connection_error(model_name, str(client.base_url), exc))
