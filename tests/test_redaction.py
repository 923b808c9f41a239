"""One redaction policy for every sink: trace files, HTML, OpenTelemetry, logs and CLI output."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio.to_thread
import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typer.testing import CliRunner

from agentkit import Agent, tool
from agentkit._redact import Redactor, redact_text
from agentkit.cli import app
from agentkit.memory import SQLiteMemory
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import Tracer, read_trace
from agentkit.tracing.html import render_html
from agentkit.tracing.otel import OTelSpanProcessor

pytestmark = pytest.mark.anyio

#: A key given only to the constructor: never in the environment.
KEY = "sk-constructor-only-7f3a9c2e1b"
LEAKS = {
    "lower-case bearer": "authorization: bearer abcdefgh12345678",
    "basic": "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
    "token key": '{"token": "tok-zz-112233"}',
    "api_token key": '{"api_token": "tok-yy-445566"}',
    "secret_key key": '{"secret_key": "sec-xx-778899"}',
    "private_key key": '{"private_key": "pk-ww-001122"}',
}
SECRET_VALUES = (
    KEY,
    "abcdefgh12345678",
    "dXNlcjpwYXNzd29yZDEyMw==",
    "tok-zz-112233",
    "tok-yy-445566",
    "sec-xx-778899",
    "pk-ww-001122",
)


@tool
def read_config(name: str) -> str:
    """Read a configuration entry (this one leaks credentials).

    Args:
        name: Which entry.
    """
    return f"key={KEY} " + " ".join(LEAKS.values())


def _clean(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_the_policy_redacts_each_form(name: str) -> None:
    """Each credential form the outside suite used is redacted by the one policy."""
    _clean(Redactor(env_vars=()).redact_text(LEAKS[name]))


async def test_every_sink_redacts_a_key_given_only_to_the_constructor(
    fake_kimi: FakeKimiServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A tool result leaking KimiModel(api_key=...) and other credentials reaches no sink in clear."""
    fake_kimi.add(Reply.tool_calls(("read_config", {"name": "db"})), Reply.text(f"The key is {KEY}."))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace, db = tmp_path / "t.jsonl", tmp_path / "s.db"
    memory = SQLiteMemory(db)
    async with KimiModel(base_url=fake_kimi.base_url, api_key=KEY) as model:
        agent = Agent(model, tools=[read_config], memory=memory)
        hooks = [Tracer([OTelSpanProcessor(provider, include_content=True)])]
        with caplog.at_level(logging.DEBUG, logger="agentkit"):
            await agent.run("Show the db config", trace=trace, session="s", hooks=hooks)
    memory.close()
    _clean(trace.read_text())
    _clean(render_html(read_trace(trace)))
    exported = orjson.dumps([dict(s.attributes or {}) for s in exporter.get_finished_spans()]).decode()
    assert "[redacted]" in exported  # the content was exported, redacted
    _clean(exported)
    _clean("\n".join(r.getMessage() for r in caplog.records))
    shown = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(app, ["sessions", "show", "s", "--db", str(db)])
    )
    assert shown.exit_code == 0
    assert "[redacted]" in shown.stdout
    _clean(shown.stdout)


def test_redact_text_keeps_ordinary_text() -> None:
    """Text without credentials comes back unchanged."""
    text = 'The basic idea: "max_tokens": 5, "input_tokens": 3, a token of thanks.'
    assert redact_text(text) == text
