"""The RunContext a tool call receives carries every field of the run's context."""

from __future__ import annotations

import dataclasses

from agentkit._run_context import RunContext, call_context
from agentkit.messages import UserMessage
from agentkit.usage import Usage


class _Budget:
    def charge(self, usage: Usage, cost_usd: float, *, check: bool = True) -> None:
        """Charge nothing."""


def test_a_calls_context_keeps_every_field_of_the_runs() -> None:
    """call_context equals dataclasses.replace on a context with every field set (a new field shows)."""
    run_ctx: RunContext[str] = RunContext(
        deps="deps",
        run_id="run-1",
        turn=3,
        usage=Usage(input_tokens=5, requests=1),
        messages=(UserMessage(content="hi"),),
        tool_call_id="old-id",
        tool_call_key="old-key",
        tool_name="old-name",
        retry=9,
        budget=_Budget(),
        emit=print,
        idempotency_key="wf-1/3.0",
    )
    unset = [f.name for f in dataclasses.fields(RunContext) if getattr(run_ctx, f.name) == f.default]
    assert unset == []  # every field differs from its default, so a dropped one shows
    changed = {"tool_call_id": "functions.f:0", "tool_call_key": "3.0", "tool_name": "f", "retry": 1}
    made = call_context(run_ctx, **changed, idempotency_key="wf-1/3.0:1")  # type: ignore[arg-type]
    assert made == dataclasses.replace(run_ctx, **changed, idempotency_key="wf-1/3.0:1")  # type: ignore[arg-type]
