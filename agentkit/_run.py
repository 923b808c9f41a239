"""One prepared run: what every entry point (run, stream, resume, agents as tools) executes.

[`Agent.prepare`][agentkit.Agent.prepare] turns an agent and a call's options into a
`Run`: the loop configuration with this run's tools (tool sources asked once), the
options resolved (session history, trace and prefill hooks), and, for a resume, the paused
state with its checked decisions. The entry points differ only in how they drive it.

The loop keeps the run's state in a record with the saved state's own fields: a resumed
run thaws its [`RunState`][agentkit.run_state.RunState] into it, and a pause freezes it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

from agentkit._loop import LoopConfig, Resume, run_loop
from agentkit._loop_state import Parent
from agentkit.events import Event
from agentkit.result import OutputT, RunOptions, RunResult

__all__ = ["Run"]


def _discard(event: Event) -> None:
    """Events nobody streams go to the run's hooks only."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Run(Generic[OutputT]):
    """A run ready to execute.

    Attributes:
        config: the loop's configuration for this run (this run's tools included).
        options: the call's options, resolved (history and hooks added).
        resume: the paused state and decisions this run continues, or ``None``.
    """

    config: LoopConfig
    options: RunOptions
    resume: Resume | None = None

    async def execute(
        self,
        prompt: str | None,
        emit: Callable[[Event], None] = _discard,
        *,
        parent: Parent | None = None,
    ) -> RunResult[OutputT]:
        """Run the loop to its end or a pause; ``emit`` receives every event."""
        result: RunResult[Any] = await run_loop(
            self.config, prompt, self.options, emit, resume=self.resume, parent=parent
        )
        return result
