"""Tracing: spans, trace files and the recorder behind ``agent.run(..., trace=...)``.

- `Tracer` turns a run's events into a span tree (run > turn > model call | tool
  call) and hands finished spans to processors (`capture_traces` for tests,
  `LogSpanProcessor` for logs, [`agentkit.tracing.otel`][] for OpenTelemetry, the
  ``agentkit[otel]`` extra). `log_processors` / `add_trace_context` tag log
  events with the run id, turn and tool-call id.
- `trace_hook` / `TraceWriter` record a run as a JSONL trace file
  (``docs/trace-format.md``); `read_trace` reads one back, and
  [`agentkit.models.ReplayModel`][] replays it.
"""

from __future__ import annotations

from agentkit._redact import Redactor
from agentkit.tracing._records import FORMAT_NAME, FORMAT_VERSION
from agentkit.tracing.abstract import Span, SpanKind, SpanProcessor
from agentkit.tracing.logs import LogSpanProcessor, log_processors
from agentkit.tracing.reader import Trace, TruncatedTraceWarning, read_trace, read_traces
from agentkit.tracing.spans import SpanBuilder, spans_from_trace
from agentkit.tracing.tracer import (
    CapturedTraces,
    TraceContext,
    Tracer,
    add_trace_context,
    ambient_hooks,
    capture_traces,
    current_trace_context,
)
from agentkit.tracing.writer import TRACE_DIR_ENV, TraceWriter, trace_hook

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "TRACE_DIR_ENV",
    "CapturedTraces",
    "LogSpanProcessor",
    "Redactor",
    "Span",
    "SpanBuilder",
    "SpanKind",
    "SpanProcessor",
    "Trace",
    "TraceContext",
    "TraceWriter",
    "Tracer",
    "TruncatedTraceWarning",
    "add_trace_context",
    "ambient_hooks",
    "capture_traces",
    "current_trace_context",
    "log_processors",
    "read_trace",
    "read_traces",
    "spans_from_trace",
    "trace_hook",
]
