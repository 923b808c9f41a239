"""OpenTelemetry export of agentkit spans, following the GenAI semantic conventions.

Needs the optional extra: ``pip install 'agentkit[otel]'``. Nothing is sent anywhere unless
you configure a tracer provider with an exporter; agentkit never sets the global one.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> from agentkit.tracing import Tracer
>>> tracer = Tracer([OTelSpanProcessor(TracerProvider())])

Spans: ``invoke_agent {agent}`` (the run), ``turn {n}``, ``chat {model}`` (client span,
``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` /
``output_tokens``, ``gen_ai.response.finish_reasons``, sampling settings) and
Every string attribute and error text is redacted first (the trace files' policy, see
`agentkit._redact`), ``include_content=True`` included.
``execute_tool {name}`` (``gen_ai.tool.name``, ``gen_ai.tool.call.id`` (the model's id),
``agentkit.tool_call.key`` (agentkit's key, unique in the run); arguments and results
only with ``include_content=True``). A run's spans are exported when the run ends, parents
first, with their recorded start and end times.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from agentkit._redact import redact_text
from agentkit.tracing.abstract import Span

__all__ = ["OTelSpanProcessor", "genai_attributes"]

_SETTINGS = {"temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p", "seed": "seed"}


def genai_attributes(span: Span, *, include_content: bool = False) -> dict[str, Any]:
    """Return the OpenTelemetry GenAI attributes for one agentkit span."""
    a = span.attributes
    out: dict[str, Any] = {"agentkit.run_id": span.trace_id}
    if span.kind == "run":
        out |= {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": str(a.get("agent"))}
        out |= _usage(a.get("usage"))
        if a.get("model"):
            out["gen_ai.request.model"] = str(a["model"])
    elif span.kind == "turn":
        out["agentkit.turn"] = int(a.get("turn", 0))
    elif span.kind == "model_call":
        out |= _chat(a)
    elif span.kind == "tool_call":
        out |= _tool(a, include_content=include_content)
    if span.error:
        out["error.type"] = span.error.split(":", 1)[0]
    return out


def _chat(a: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": str(a.get("model"))}
    out |= {"gen_ai.response.model": str(a.get("model")), "agentkit.turn": int(a.get("turn", 0))}
    out |= _usage(a.get("usage"))
    if a.get("finish_reason"):
        out["gen_ai.response.finish_reasons"] = [str(a["finish_reason"])]
    if a.get("request_id"):
        out["gen_ai.response.id"] = str(a["request_id"])
    if a.get("retries"):
        out["agentkit.retries"] = int(a["retries"])  # failed attempts the provider retried
    settings: Mapping[str, Any] = a.get("settings") or {}
    for key, name in _SETTINGS.items():
        if settings.get(key) is not None:
            out[f"gen_ai.request.{name}"] = settings[key]
    return out


def _tool(a: Mapping[str, Any], *, include_content: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": str(a.get("tool"))}
    out |= {"gen_ai.tool.call.id": str(a.get("tool_call_id")), "gen_ai.tool.type": "function"}
    if a.get("tool_call_key"):
        out["agentkit.tool_call.key"] = str(a["tool_call_key"])
    if a.get("retry"):
        out["agentkit.tool.retry"] = int(a["retry"])  # this tool's earlier failed calls in the run
    if include_content:
        out["gen_ai.tool.call.arguments"] = str(a.get("arguments"))
        out["gen_ai.tool.call.result"] = str(a.get("result"))
    return out


def _usage(usage: Any) -> dict[str, int]:
    if not isinstance(usage, Mapping):
        return {}
    return {
        "gen_ai.usage.input_tokens": int(usage.get("input_tokens", 0)),
        "gen_ai.usage.output_tokens": int(usage.get("output_tokens", 0)),
    }


class OTelSpanProcessor:
    """A [`SpanProcessor`][agentkit.tracing.SpanProcessor] exporting to an OpenTelemetry tracer provider.

    Args:
        tracer_provider: where spans go (``None``: the global provider, a no-op until configured).
        include_content: also export tool arguments and results (may hold personal data).
    """

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, include_content: bool = False
    ) -> None:
        self._tracer = otel_trace.get_tracer("agentkit", tracer_provider=tracer_provider)
        self._include_content = include_content
        self._pending: dict[str, list[Span]] = {}
        self._lock = threading.Lock()

    def on_span_end(self, span: Span) -> None:
        """Collect ``span``; when its run ends, export the run's tree."""
        with self._lock:
            self._pending.setdefault(span.trace_id, []).append(span)
            if span.kind != "run":
                return
            spans = self._pending.pop(span.trace_id)
        self._export(spans)

    def _export(self, spans: list[Span]) -> None:
        children: dict[str | None, list[Span]] = {}
        for span in spans:
            children.setdefault(span.parent_id, []).append(span)

        def emit(parent_ctx: Any, span: Span) -> None:
            kind = SpanKind.CLIENT if span.kind == "model_call" else SpanKind.INTERNAL
            attributes = genai_attributes(span, include_content=self._include_content)
            otel_span = self._tracer.start_span(
                span.name,
                context=parent_ctx,
                kind=kind,
                start_time=span.start_ns,
                attributes={k: redact_text(v) if isinstance(v, str) else v for k, v in attributes.items()},
            )
            if span.error:
                otel_span.set_status(Status(StatusCode.ERROR, redact_text(span.error)))
            ctx = otel_trace.set_span_in_context(otel_span)
            for child in sorted(children.get(span.span_id, ()), key=lambda s: s.start_ns):
                emit(ctx, child)
            otel_span.end(end_time=span.end_ns)

        for root in children.get(None, ()):
            emit(None, root)
