"""How an OpenAI-compatible model sends: its own httpx2 pool, an injected httpx2 client, a user's AsyncOpenAI.

Each behaviour is checked through every transport against the real loopback fake Kimi server.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx2
import openai
import pytest

from agentkit.events import TextDelta
from agentkit.exceptions import ModelConnectionError, ModelHTTPError
from agentkit.messages import UserMessage
from agentkit.models import KIMI_PROFILE, KimiModel, ModelRequest, OpenAICompatModel
from agentkit.models.abstract import ModelProfile, ModelResponse
from agentkit.models.kimi import KIMI_RETRY_POLICY
from agentkit.testing import FakeKimiServer, Reply

pytestmark = pytest.mark.anyio

KEY = "sk-TRANSPORT-0123456789abcdef"
FAST = replace(KIMI_PROFILE, retry=replace(KIMI_RETRY_POLICY, base_delay_s=0.001, max_delay_s=0.5))
ASK = ModelRequest(messages=[UserMessage(content="hi")])
TRANSPORTS = ("owned", "httpx_client", "openai_client")


@contextlib.asynccontextmanager
async def open_model(
    transport: str, base_url: str, *, timeout_s: float | None = None, profile: ModelProfile = FAST
) -> AsyncIterator[KimiModel]:
    """A KimiModel on ``base_url`` sending through ``transport``; closes it and any supplied client."""
    if transport == "owned":
        assert timeout_s is None, "an owned pool keeps the SDK's default timeouts"
        async with KimiModel(base_url=base_url, api_key=KEY, profile=profile) as model:
            yield model
        return
    timeout = timeout_s if timeout_s is not None else 30.0
    if transport == "httpx_client":
        client = httpx2.AsyncClient(headers={"X-Caller": "httpx"}, timeout=timeout)
        async with (
            client,
            KimiModel(base_url=base_url, api_key=KEY, profile=profile, http_client=client) as model,
        ):
            yield model
        return
    sdk = openai.AsyncOpenAI(
        base_url=base_url, api_key=KEY, max_retries=0, default_headers={"X-Caller": "openai"}, timeout=timeout
    )
    async with sdk, KimiModel(profile=profile, openai_client=sdk) as model:
        yield model


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_complete_and_stream_go_through_the_chosen_transport(
    fake_kimi: FakeKimiServer, transport: str
) -> None:
    """Both calls answer, carry the bearer key, and a supplied client's own headers reach the server."""
    fake_kimi.add(Reply.text("whole", usage=(10, 2, 0)), Reply.text("streamed", usage=(11, 3, 0)))
    async with open_model(transport, fake_kimi.base_url) as model:
        whole = await model.complete(ASK)
        events = [event async for event in model.stream(ASK)]
    assert whole.message.content == "whole"
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.content == "streamed"
    assert final.usage.output_tokens == 3  # stream usage still asked for and read
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "streamed"
    first, second = fake_kimi.requests
    assert first.path == second.path == "/v1/chat/completions"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.body is not None
    assert second.body is not None
    assert (first.body.get("stream", False), second.body["stream"]) == (False, True)
    expected_caller = {"owned": None, "httpx_client": "httpx", "openai_client": "openai"}[transport]
    assert first.headers.get("x-caller") == expected_caller


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_rate_limit_is_retried_after_the_servers_wait(
    fake_kimi: FakeKimiServer, transport: str
) -> None:
    """A 429 with Retry-After is retried (once, counted) and the second answer wins."""
    fake_kimi.add(
        Reply.error(429, "rate_limit_reached_error", "slow down", retry_after=0.01), Reply.text("ok")
    )
    async with open_model(transport, fake_kimi.base_url) as model:
        response = await model.complete(ASK)
    assert (response.message.content, response.retries, len(fake_kimi.requests)) == ("ok", 1, 2)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_error_status_maps_to_model_http_error_without_the_key(
    fake_kimi: FakeKimiServer, transport: str
) -> None:
    """A 401 raises ModelHTTPError with the wire's type and request id; the echoed key is redacted."""
    fake_kimi.add(Reply.error(401, "invalid_authentication_error", f"bad key {KEY}"))
    async with open_model(transport, fake_kimi.base_url) as model:
        with pytest.raises(ModelHTTPError) as caught:
            await model.complete(ASK)
    error = caught.value
    assert (error.status_code, error.error_type, error.retries) == (401, "invalid_authentication_error", 0)
    assert error.message == "bad key [redacted]"
    assert error.request_id == "fake-req-000001"
    assert error.__cause__ is None  # nothing chained carries the request (and its headers)
    assert error.__context__ is None
    assert KEY not in repr(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_refused_on_loopback_fails_at_once(transport: str) -> None:
    """Nothing listening on a loopback port raises a non-retryable ModelConnectionError on the first try."""
    async with open_model(transport, f"http://127.0.0.1:{free_port()}/v1") as model:
        with pytest.raises(ModelConnectionError, match="connection refused") as caught:
            await model.complete(ASK)
    assert caught.value.retryable is False
    assert caught.value.retries == 0


@pytest.mark.parametrize("transport", ["httpx_client", "openai_client"])
async def test_a_supplied_clients_timeout_applies(fake_kimi: FakeKimiServer, transport: str) -> None:
    """A server slower than the supplied client's timeout gives ModelConnectionError 'timed out'."""
    profile = replace(FAST, retry=replace(FAST.retry, max_retries=0))
    fake_kimi.add(Reply.text("late", latency_s=1.0))
    async with open_model(transport, fake_kimi.base_url, timeout_s=0.2, profile=profile) as model:
        with pytest.raises(ModelConnectionError, match="timed out"):
            await model.complete(ASK)


async def test_aclose_leaves_a_supplied_client_open(fake_kimi: FakeKimiServer) -> None:
    """Closing the model closes its own pool only: an injected httpx2 client or AsyncOpenAI stays usable."""
    fake_kimi.add(Reply.text("one"), Reply.text("two"))
    client = httpx2.AsyncClient()
    sdk = openai.AsyncOpenAI(base_url=fake_kimi.base_url, api_key=KEY, max_retries=0)
    for model in (
        KimiModel(base_url=fake_kimi.base_url, api_key=KEY, http_client=client),
        KimiModel(openai_client=sdk),
    ):
        async with model:
            await model.complete(ASK)
    assert not client.is_closed
    assert not sdk.is_closed()
    await client.aclose()
    await sdk.close()


async def test_the_base_url_keeps_the_sdk_form(fake_kimi: FakeKimiServer) -> None:
    """base_url ends in a slash, as the SDK wrote it, whichever way the model sends."""
    sdk = openai.AsyncOpenAI(base_url=fake_kimi.base_url, api_key=KEY)
    own = OpenAICompatModel("m", base_url=fake_kimi.base_url)
    async with sdk:
        assert own.base_url == KimiModel(openai_client=sdk).base_url == fake_kimi.base_url + "/"
    assert repr(own) == f"OpenAICompatModel(model_name='m', base_url='{fake_kimi.base_url}/')"


def test_a_model_without_an_openai_client_never_imports_the_sdk() -> None:
    """Building a KimiModel and calling it (complete and stream) over HTTP loads no openai module."""
    code = """
import sys, anyio
from agentkit.messages import UserMessage
from agentkit.models import KimiModel, ModelRequest
from agentkit.testing import FakeKimiServer, Reply

async def main(url):
    async with KimiModel(base_url=url, api_key="sk-test") as model:
        ask = ModelRequest(messages=[UserMessage(content="hi")])
        assert (await model.complete(ask)).message.content == "a"
        assert [e async for e in model.stream(ask)][-1].message.content == "b"

with FakeKimiServer([Reply.text("a"), Reply.text("b")]) as server:
    anyio.run(main, server.base_url)
print(sorted(m for m in sys.modules if m == "openai" or m.startswith("openai.")))
"""
    done = subprocess.run(  # noqa: S603 - this interpreter on our own snippet
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
