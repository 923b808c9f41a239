"""Console progress for the demos: turns, model calls, parallel tool calls and approvals, as they happen."""

from __future__ import annotations

import time

from agentkit.messages import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    ModelCallFinished,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)

__all__ = ["ProgressPrinter"]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProgressPrinter:
    """Prints one line per step of a streamed run, stamped with the seconds since it started."""

    def __init__(self, *, width: int = 70) -> None:
        self.started = time.perf_counter()
        self.width = width
        self.tool_calls = 0
        self._running = 0

    def _stamp(self) -> str:
        return f"[{time.perf_counter() - self.started:5.2f}s]"

    def __call__(self, event: Event) -> None:
        """Print ``event`` if it is a step worth showing."""
        if isinstance(event, ModelCallFinished):
            calls = len(event.response.message.tool_calls) if event.response is not None else 0
            what = f"asks for {calls} tool call{'s' * (calls != 1)}" if calls else "answers"
            parallel = " (in parallel)" if calls > 1 else ""
            print(f"{self._stamp()} turn {event.turn}: the model {what}{parallel}")
        elif isinstance(event, ToolCallStarted):
            self._running += 1
            self.tool_calls += 1
            args = _short(event.call.arguments, self.width - len(event.call.name))
            print(f"{self._stamp()}   -> {event.call.name}({args})  [{self._running} running]")
        elif isinstance(event, ToolCallFinished):
            self._running -= 1
            mark = "!!" if event.result.is_error else "<-"
            result = _short(event.result.content, self.width)
            print(f"{self._stamp()}   {mark} {event.call.name} {event.duration_s * 1000:.0f} ms: {result}")
        elif isinstance(event, ApprovalRequested):
            print(f"{self._stamp()}   ?? {event.call.name} waits for approval")
        elif isinstance(event, ApprovalDecided):
            print(f"{self._stamp()}   ok {event.call.name}: decision {event.decision!r}")
        elif isinstance(event, TurnFinished):
            tokens = event.usage.input_tokens + event.usage.output_tokens
            print(f"{self._stamp()} turn {event.turn} done ({tokens:,} tokens so far)")
