"""The span model and the SpanProcessor protocol every trace sink implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

__all__ = ["Span", "SpanKind", "SpanProcessor"]

#: ``run`` > ``turn`` > ``model_call`` | ``tool_call``.
SpanKind: TypeAlias = Literal["run", "turn", "model_call", "tool_call"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Span:
    """One finished step of a run.

    Attributes:
        span_id: unique within the trace.
        parent_id: the enclosing span (``None`` for the run).
        trace_id: the run id.
        kind: ``run``, ``turn``, ``model_call`` or ``tool_call``.
        name: ``invoke_agent NAME``, ``turn N``, ``chat MODEL`` or ``execute_tool NAME``
            (the OpenTelemetry GenAI names).
        start_ns: start, nanoseconds since the epoch.
        end_ns: end, nanoseconds since the epoch.
        attributes: model, settings, usage, cost, retries, tool name, arguments, result,
            retry (the tool's earlier failed calls), ...
        error: ``"Type: message"`` when the step failed.
    """

    span_id: str
    parent_id: str | None
    trace_id: str
    kind: SpanKind
    name: str
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def duration_s(self) -> float:
        """How long the step took, in seconds."""
        return (self.end_ns - self.start_ns) / 1e9


@runtime_checkable
class SpanProcessor(Protocol):
    """Receives each span when it finishes (children before their parents).

    Called inline in the run: keep it fast and never raise.
    """

    def on_span_end(self, span: Span) -> None:
        """Handle one finished span."""
        ...
