"""Hooks: behaviour that attaches around the loop instead of branching inside it.

Tracing, memory, context-window fitting and similar features are
`RunHooks` subclasses. The loop calls every hook at the same few
points, in the order given:

- `RunHooks.on_event` for every `Event` (sync, must be cheap);
- `RunHooks.before_model_call` to adjust each request before it is sent;
- `RunHooks.after_model_call` to adjust each response before the loop acts on it;
- `RunHooks.on_model_error` to offer one changed request to retry after a failed model call;
- `RunHooks.after_turn` with each completed turn's new messages (an assistant message
  and all its tool results, or the final answer), so a turn is persisted as one unit.

>>> from agentkit import Agent
>>> from agentkit.models.function import ScriptedModel
>>> class CountTurns(RunHooks):
...     turns = 0
...     async def after_turn(self, messages, info):
...         CountTurns.turns += 1
>>> _ = Agent(ScriptedModel(["hi"]), hooks=[CountTurns()]).run_sync("hello")
>>> CountTurns.turns
1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.events import Event
from agentkit.messages import Message
from agentkit.model_types import ModelRequest, ModelResponse

__all__ = ["RunHooks", "RunInfo"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunInfo:
    """What a hook may know about the run it is called from."""

    run_id: str
    agent_name: str
    turn: int
    deps: Any = None


class RunHooks:
    """Base class for hooks; every method is a no-op until overridden."""

    def on_event(self, event: Event) -> None:
        """Observe one event (runs inline in the loop: keep it fast, never raise)."""

    async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
        """Return the request to send (the argument itself, or a changed copy)."""
        return request

    async def after_model_call(self, response: ModelResponse, info: RunInfo) -> ModelResponse:
        """Return the response the loop should act on (the argument itself, or a changed copy)."""
        return response

    async def on_model_error(
        self, request: ModelRequest, error: Exception, info: RunInfo
    ) -> ModelRequest | None:
        """Return a changed request to retry once after the model call failed with ``error``.

        ``None`` (the default) lets the error end the run. The first hook returning a request
        wins, and a request is retried at most once (e.g. a shorter one after a context overflow).
        """
        return None

    async def after_turn(self, messages: Sequence[Message], info: RunInfo) -> None:
        """Receive a completed turn's new messages (tool calls always with their results)."""
