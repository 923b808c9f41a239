"""Span sinks: the structlog span logger and the OpenTelemetry exporter (GenAI conventions)."""

from __future__ import annotations

import logging

import anyio
import orjson
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentkit import Agent, ModelSettings, tool
from agentkit.models.function import ScriptedModel
from agentkit.tracing import Tracer
from agentkit.tracing.abstract import Span
from agentkit.tracing.abstract import SpanKind as SpanKindName
from agentkit.tracing.logs import LogSpanProcessor, log_processors
from agentkit.tracing.otel import OTelSpanProcessor, genai_attributes
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
async def lookup(city: str) -> str:
    """Look up a city.

    Args:
        city: City name.
    """
    await anyio.sleep(0.02)
    if city == "Atlantis":
        raise ValueError("no such city")
    return f"{city}: ok"


def _agent(tracer: Tracer) -> Agent[str]:
    model = ScriptedModel([calls(("lookup", {"city": "Oslo"}), ("lookup", {"city": "Atlantis"})), "done"])
    return Agent(
        model, tools=[lookup], name="geo", hooks=[tracer], model_settings=ModelSettings(temperature=0.3)
    )


async def test_otel_export_follows_genai_conventions() -> None:
    """Spans reach an in-memory exporter as invoke_agent > turn > chat | execute_tool, with gen_ai.* keys."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    result = await _agent(Tracer([OTelSpanProcessor(provider)])).run("go")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    names = [s.name for s in exporter.get_finished_spans()]
    expected = ["invoke_agent geo", "turn 1", "turn 2", *["chat scripted"] * 2, *["execute_tool lookup"] * 2]
    assert sorted(names) == sorted(expected)
    run = spans["invoke_agent geo"]
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"]
    assert all(c.kind == SpanKind.CLIENT for c in chats)
    assert chats[0].attributes is not None
    assert chats[0].attributes["gen_ai.request.temperature"] == 0.3
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    tools = [s for s in exporter.get_finished_spans() if s.name == "execute_tool lookup"]
    failed = [t for t in tools if t.status.status_code == StatusCode.ERROR]
    assert len(failed) == 1
    assert failed[0].attributes is not None
    assert "gen_ai.tool.call.arguments" not in failed[0].attributes  # content is opt-in
    turn1 = spans["turn 1"]
    assert all(t.parent is not None and t.parent.span_id == turn1.context.span_id for t in tools)
    assert {s.context.trace_id for s in exporter.get_finished_spans()} == {run.context.trace_id}
    assert tools[0].start_time is not None
    assert tools[1].end_time is not None
    assert tools[0].start_time < tools[1].end_time  # recorded times kept: the calls overlap


def test_retries_are_exported_only_when_there_were_some() -> None:
    """A retried model call and a tool's repair call carry agentkit.* retry counts; others do not."""

    def span(kind: SpanKindName, **attributes: object) -> Span:
        return Span(
            span_id="s",
            parent_id="p",
            trace_id="t",
            kind=kind,
            name=kind,
            start_ns=0,
            end_ns=1,
            attributes=attributes,
        )

    assert genai_attributes(span("model_call", retries=2))["agentkit.retries"] == 2
    assert "agentkit.retries" not in genai_attributes(span("model_call", retries=0))
    assert genai_attributes(span("tool_call", retry=1))["agentkit.tool.retry"] == 1
    assert "agentkit.tool.retry" not in genai_attributes(span("tool_call"))


async def test_log_span_processor_logs_each_span(caplog: pytest.LogCaptureFixture) -> None:
    """Every finished span becomes one span.end log event; a failed tool call logs at WARNING."""
    with caplog.at_level(logging.INFO, logger="agentkit.trace"):
        result = await _agent(Tracer([LogSpanProcessor()])).run("go")
    events = [r.event_dict for r in caplog.records if r.name == "agentkit.trace"]  # type: ignore[attr-defined]  # set by agentkit's logger
    assert [e["span"] for e in events][-1] == "invoke_agent geo"
    assert len(events) == 7
    assert all(e["run_id"] == result.run_id for e in events)
    failed = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "agentkit.trace"]
    assert len(failed) == 1
    assert "no such city" in failed[0].event_dict["error"]  # type: ignore[attr-defined]  # as above
    assert {"tool_call_id", "turn", "duration_ms"} <= set(failed[0].event_dict)  # type: ignore[attr-defined]  # as above


async def test_log_processors_render_json_lines_with_trace_context() -> None:
    """log_processors(json=True) renders one JSON object per event, tagged with the traced tool call."""
    logger = structlog.wrap_logger(structlog.ReturnLogger(), processors=log_processors(json=True))
    lines: list[str] = []

    @tool
    def noisy() -> str:
        """Log a line."""
        lines.append(logger.info("inside", x=1))
        return "ok"

    result = await Agent(ScriptedModel([calls(("noisy", {})), "done"]), tools=[noisy], hooks=[Tracer()]).run(
        "go"
    )
    event = orjson.loads(lines[0])
    assert (event["event"], event["x"], event["level"]) == ("inside", 1, "info")
    assert (event["run_id"], event["turn"]) == (result.run_id, 1)
    assert event["tool_call_id"].startswith("functions.noisy:")
