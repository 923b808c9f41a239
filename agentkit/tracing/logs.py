"""Spans as structlog events: a processor for logs, and renderers for people and machines.

`LogSpanProcessor` logs every finished span as one event (``span.end``) through
agentkit's stdlib-backed logger ``agentkit.trace``, carrying run id, turn, tool-call key and id,
duration, tokens, cost and error. `log_processors` returns a structlog processor chain
for your own logging setup: trace context (run id, turn, tool-call key and id) plus a pretty console
renderer for people or a JSON-lines renderer for machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from agentkit._log import get_logger
from agentkit._redact import redact_text
from agentkit.tracing.abstract import Span
from agentkit.tracing.tracer import add_trace_context

__all__ = ["LogSpanProcessor", "log_processors", "span_event"]


def span_event(span: Span) -> dict[str, Any]:
    """Return the key/value pairs a span is logged with (large payloads left out)."""
    a = span.attributes
    out: dict[str, Any] = {
        "span": span.name,
        "kind": span.kind,
        "run_id": span.trace_id,
        "duration_ms": round(span.duration_s * 1000, 3),
    }
    if "turn" in a:
        out["turn"] = a["turn"]
    if span.kind == "tool_call":
        out["tool_call_key"] = a.get("tool_call_key")
        out["tool_call_id"] = a.get("tool_call_id")
    usage = a.get("usage")
    if span.kind in ("model_call", "run") and isinstance(usage, Mapping):
        out["input_tokens"] = usage.get("input_tokens", 0)
        out["output_tokens"] = usage.get("output_tokens", 0)
        out["cost_usd"] = a.get("cost_usd", 0.0)
    if span.error:
        out["error"] = redact_text(span.error)
    return out


class LogSpanProcessor:
    """Logs each finished span as a ``span.end`` event (errors at WARNING, the rest at ``level``).

    Args:
        logger_name: the stdlib logger to write to.
        level: the level of successful spans: ``"debug"`` or ``"info"``.
    """

    def __init__(self, logger_name: str = "agentkit.trace", *, level: str = "info") -> None:
        self._log = get_logger(logger_name)
        self._level = level

    def on_span_end(self, span: Span) -> None:
        """Log ``span``."""
        method = "warning" if span.error else self._level
        getattr(self._log, method)("span.end", **span_event(span))


def log_processors(*, json: bool = False) -> list[structlog.typing.Processor]:
    """Return a structlog chain: trace context, level, timestamp, then console or JSON lines.

    Use it in your logging setup, e.g. ``structlog.configure(processors=log_processors(json=True))``.
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        add_trace_context,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        renderer,
    ]
