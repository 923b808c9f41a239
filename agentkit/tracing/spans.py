"""Trace records in, spans out: the span tree of a run, live or from a trace file.

`SpanBuilder` is fed the records of one run in order (the same records a
trace file holds) and hands each span to ``emit`` when it finishes. The
[`Tracer`][agentkit.tracing.Tracer] feeds it live; `spans_from_trace` feeds it a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.tracing.abstract import Span, SpanKind
from agentkit.tracing.reader import Trace

__all__ = ["SpanBuilder", "spans_from_trace"]


@dataclass(kw_only=True, slots=True)
class _Open:
    span_id: str
    parent_id: str | None
    kind: SpanKind
    name: str
    start_ns: int
    attributes: dict[str, Any]


@dataclass(kw_only=True, slots=True)
class SpanBuilder:
    """Builds one run's span tree from its trace records."""

    emit: Callable[[Span], None]
    run: _Open | None = None
    turns: dict[int, _Open] = field(default_factory=dict)
    trace_id: str = ""
    _count: int = 0

    def feed(self, record: Mapping[str, Any]) -> None:
        """Take the next record of the run."""
        kind = record.get("type")
        if kind == "header":
            self._header(record)
        elif self.run is None:
            return
        elif kind == "model_call":
            self._model_call(record)
        elif kind == "tool_call":
            self._tool_call(record)
        elif kind == "turn":
            self._end_turn(record["turn"], record["end_ns"], {"usage": record.get("usage", {})})
        elif kind in ("final", "failed"):
            self._end_run(record)

    def _next_id(self) -> str:
        self._count += 1
        return f"{self.trace_id[:8]}{self._count:08x}"

    def _header(self, record: Mapping[str, Any]) -> None:
        self.trace_id = str(record.get("run_id", ""))
        agent = record.get("agent", "agent")
        self.run = _Open(
            span_id=self._next_id(),
            parent_id=None,
            kind="run",
            name=f"invoke_agent {agent}",
            start_ns=int(record["start_ns"]),
            attributes={
                "agent": agent,
                "model": record.get("model"),
                "tools": [t["name"] for t in record.get("tools", ())],
            },
        )

    def _turn(self, turn: int, start_ns: int) -> _Open:
        assert self.run is not None
        found = self.turns.get(turn)
        if found is None:
            found = _Open(
                span_id=self._next_id(),
                parent_id=self.run.span_id,
                kind="turn",
                name=f"turn {turn}",
                start_ns=start_ns,
                attributes={"turn": turn},
            )
            self.turns[turn] = found
        return found

    def _model_call(self, record: Mapping[str, Any]) -> None:
        turn = self._turn(record["turn"], record["start_ns"])
        request = record["request"]
        response = record.get("response") or {}
        model = response.get("model_name") or (self.run.attributes["model"] if self.run else "")
        attributes = {
            "turn": record["turn"],
            "model": model,
            "settings": request.get("settings", {}),
            "tool_choice": request.get("tool_choice"),
            "new_messages": request.get("messages", []),
            "response": response.get("message"),
            "finish_reason": response.get("finish_reason"),
            "usage": response.get("usage", {}),
            "cost_usd": response.get("cost_usd", 0.0),
            "request_id": response.get("request_id"),
            "retries": response.get("retries") or (record.get("error") or {}).get("retries", 0),
        }
        self._close(turn.span_id, "model_call", f"chat {model}", record=record, attributes=attributes)

    def _tool_call(self, record: Mapping[str, Any]) -> None:
        turn = self._turn(record["turn"], record["start_ns"])
        call, result = record["call"], record["result"]
        attributes = {
            "turn": record["turn"],
            "tool": call["name"],
            "tool_call_id": call["id"],
            "tool_call_key": record.get("key"),
            "arguments": call["arguments"],
            "result": result["content"],
            "is_error": result["is_error"],
            "retry": record.get("retry", 0),
        }
        error = f"ToolError: {result['content']}" if result["is_error"] else None
        name = f"execute_tool {call['name']}"
        self._close(turn.span_id, "tool_call", name, record=record, attributes=attributes, error=error)

    def _close(
        self,
        parent: str,
        kind: SpanKind,
        name: str,
        *,
        record: Mapping[str, Any],
        attributes: dict[str, Any],
        error: str | None = None,
    ) -> None:
        failed = record.get("error")
        if failed:
            error = f"{failed['type']}: {failed['message']}"
        self.emit(
            Span(
                span_id=self._next_id(),
                parent_id=parent,
                trace_id=self.trace_id,
                kind=kind,
                name=name,
                start_ns=int(record["start_ns"]),
                end_ns=int(record["end_ns"]),
                attributes=attributes,
                error=error,
            )
        )

    def _end_turn(self, turn: int, end_ns: int, extra: Mapping[str, Any], error: str | None = None) -> None:
        found = self.turns.pop(turn, None)
        if found is not None:
            self.emit(_finish(found, self.trace_id, end_ns, {**found.attributes, **extra}, error))

    def _end_run(self, record: Mapping[str, Any]) -> None:
        run = self.run
        assert run is not None
        end_ns = int(record["end_ns"])
        failed = record.get("error")
        error = f"{failed['type']}: {failed['message']}" if failed else None
        for turn in sorted(self.turns):
            self._end_turn(turn, end_ns, {}, error)
        extra = {k: record[k] for k in ("output", "usage", "cost_usd", "turns") if k in record}
        self.emit(_finish(run, self.trace_id, end_ns, {**run.attributes, **extra}, error))
        self.run = None


def _finish(
    span: _Open, trace_id: str, end_ns: int, attributes: Mapping[str, Any], error: str | None
) -> Span:
    return Span(
        span_id=span.span_id,
        parent_id=span.parent_id,
        trace_id=trace_id,
        kind=span.kind,
        name=span.name,
        start_ns=span.start_ns,
        end_ns=end_ns,
        attributes=attributes,
        error=error,
    )


def spans_from_trace(trace: Trace) -> list[Span]:
    """Return the finished spans of a recorded run, in the order they finished.

    A run cut off mid-way (no ``final`` record) yields its finished model and tool
    calls only.
    """
    spans: list[Span] = []
    builder = SpanBuilder(emit=spans.append)
    builder.feed(trace.header)
    for record in trace.records:
        builder.feed(record)
    if builder.run is not None:  # cut off: close what is open at the last time seen
        last = max([int(r["end_ns"]) for r in trace.records if "end_ns" in r] or [builder.run.start_ns])
        cut = {"type": "Incomplete", "message": "the trace ends before the run did"}
        builder.feed({"type": "failed", "end_ns": last, "error": cut})
    return spans
