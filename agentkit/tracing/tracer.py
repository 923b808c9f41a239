"""The Tracer: a [`RunHooks`][agentkit.hooks.RunHooks] turning a run's events into spans.

Attach one to an agent (``Agent(..., hooks=[Tracer([processor])])``) or to a run
(``hooks=[...]``); it serves any number of concurrent runs, keeping each run's state
in a context variable (events of a run are emitted in its task or the tool-call tasks
it starts, which inherit the context). The same variable carries the run id, turn
and tool-call key and id for log events: add `add_trace_context` to your structlog
processors.

>>> from agentkit import Agent
>>> from agentkit.models.function import ScriptedModel
>>> with capture_traces() as captured:
...     _ = Agent(ScriptedModel(["hi"])).run_sync("hello")
>>> [s.kind for s in captured.spans]
['model_call', 'turn', 'run']
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from agentkit.events import Event, FinalResultEvent, ModelCallStarted, RunFailed, RunStarted, ToolCallStarted
from agentkit.hooks import RunHooks
from agentkit.tracing._records import RecordEncoder
from agentkit.tracing.abstract import Span, SpanProcessor
from agentkit.tracing.spans import SpanBuilder
from agentkit.tracing.writer import TRACE_DIR_ENV, TraceWriter

__all__ = [
    "CapturedTraces",
    "TraceContext",
    "Tracer",
    "add_trace_context",
    "ambient_hooks",
    "capture_traces",
    "current_trace_context",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceContext:
    """Where the code running now sits in a traced run.

    ``tool_call_key`` is agentkit's key for the running call (unique in the run);
    ``tool_call_id`` is the model's id for it (which the model may repeat).
    """

    run_id: str
    turn: int = 0
    tool_call_id: str | None = None
    tool_call_key: str | None = None


_CONTEXT: ContextVar[TraceContext | None] = ContextVar("agentkit_trace_context", default=None)
_CAPTURES: ContextVar[tuple[CapturedTraces, ...]] = ContextVar("agentkit_trace_captures", default=())


def current_trace_context() -> TraceContext | None:
    """Return the traced run, turn and tool call the caller is running in, if any."""
    return _CONTEXT.get()


def add_trace_context(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """A structlog processor adding ``run_id``, ``turn``, ``tool_call_key`` and ``tool_call_id``.

    Keys already in the event are kept.
    """
    context = _CONTEXT.get()
    if context is not None:
        event_dict.setdefault("run_id", context.run_id)
        event_dict.setdefault("turn", context.turn)
        if context.tool_call_key is not None:
            event_dict.setdefault("tool_call_key", context.tool_call_key)
        if context.tool_call_id is not None:
            event_dict.setdefault("tool_call_id", context.tool_call_id)
    return event_dict


@dataclass(kw_only=True, slots=True)
class _RunState:
    encoder: RecordEncoder
    builder: SpanBuilder
    token: Token[TraceContext | None]
    #: The run this one is nested in (an agent called as a tool), restored when this one ends.
    outer: _RunState | None = None


class Tracer(RunHooks):
    """Builds each run's span tree and hands finished spans to ``processors``.

    Args:
        processors: the sinks (``capture_traces``, ``LogSpanProcessor``, an OTel exporter...).
    """

    def __init__(self, processors: Iterable[SpanProcessor] = ()) -> None:
        self.processors: list[SpanProcessor] = list(processors)
        self._state: ContextVar[_RunState | None] = ContextVar(f"agentkit_tracer_{id(self)}", default=None)

    def _emit(self, span: Span) -> None:
        for processor in self.processors:
            processor.on_span_end(span)

    def on_event(self, event: Event) -> None:
        """Turn ``event`` into spans; keeps the trace context current for log events."""
        if isinstance(event, RunStarted):
            context = TraceContext(run_id=event.run_id)
            state = _RunState(
                encoder=RecordEncoder(clock=time.time_ns),
                builder=SpanBuilder(emit=self._emit),
                token=_CONTEXT.set(context),
                outer=self._state.get(),
            )
            self._state.set(state)
        else:
            found = self._state.get()
            if found is None:
                return
            state = found
            _track_context(event)
        record = state.encoder.encode(event)
        if record is not None:
            state.builder.feed(record)
        if isinstance(event, FinalResultEvent | RunFailed):
            self._state.set(state.outer)
            with contextlib.suppress(ValueError):  # reset from another context: nothing to undo
                _CONTEXT.reset(state.token)


def _track_context(event: Event) -> None:
    context = _CONTEXT.get()
    if context is None:
        return
    if isinstance(event, ModelCallStarted):
        _CONTEXT.set(TraceContext(run_id=context.run_id, turn=event.turn))
    elif isinstance(event, ToolCallStarted):
        # Emitted inside the tool call's own task: the change stays in that task.
        _CONTEXT.set(
            TraceContext(
                run_id=context.run_id, turn=event.turn, tool_call_id=event.call.id, tool_call_key=event.key
            )
        )


@dataclass(kw_only=True, slots=True)
class CapturedTraces:
    """Spans captured by `capture_traces`, in the order they finished."""

    spans: list[Span] = field(default_factory=list)

    def on_span_end(self, span: Span) -> None:
        """Keep ``span``."""
        self.spans.append(span)

    def tree(self) -> list[tuple[int, str]]:
        """Return ``(depth, name)`` for every span, parents first, siblings by start time.

        Ids and timestamps are left out, so a run's shape can be compared to a snapshot.
        """
        children: dict[str | None, list[Span]] = {}
        for span in self.spans:
            children.setdefault(span.parent_id, []).append(span)
        out: list[tuple[int, str]] = []

        def walk(parent: str | None, depth: int) -> None:
            for span in sorted(children.get(parent, ()), key=lambda s: (s.start_ns, s.name)):
                out.append((depth, span.name))
                walk(span.span_id, depth + 1)

        walk(None, 0)
        return out

    def of_kind(self, kind: str) -> list[Span]:
        """Return the captured spans of one kind."""
        return [s for s in self.spans if s.kind == kind]


@contextlib.contextmanager
def capture_traces() -> Iterator[CapturedTraces]:
    """Capture the spans of every run started inside the ``with`` block (for tests).

    No hook needs attaching: agents add a `Tracer` to each run while a capture
    is active in the calling context.
    """
    captured = CapturedTraces()
    token = _CAPTURES.set((*_CAPTURES.get(), captured))
    try:
        yield captured
    finally:
        _CAPTURES.reset(token)


def ambient_hooks() -> Sequence[RunHooks]:
    """Hooks every run gets from its surroundings: active captures and ``AGENTKIT_TRACE_DIR``.

    Called by [`Agent`][agentkit.Agent] for each run once tracing has been imported or
    the environment variable is set.
    """
    hooks: list[RunHooks] = []
    captures = _CAPTURES.get()
    if captures:
        hooks.append(Tracer(captures))
    folder = os.environ.get(TRACE_DIR_ENV)
    if folder:
        hooks.append(TraceWriter(folder, directory=True))
    return hooks
