"""A visible plan: the optional ``update_plan`` tool, plan events, and the plan on the result.

Give an agent the tool and the model may break a task into steps and keep
their statuses current. Every accepted update is emitted as a
[`PlanUpdated`][agentkit.events.PlanUpdated] event (streaming UIs, the CLI progress
view and traces see it) and the latest plan is ``RunResult.plan``, read back
from the conversation, so it survives sessions and resumed runs too.

>>> from agentkit import Agent
>>> from agentkit.models.function import ScriptedModel, call
>>> steps = [{"step": "Find flights", "status": "completed"}, {"step": "Book hotel", "status": "in_progress"}]
>>> model = ScriptedModel([call("update_plan", {"steps": steps}), "Working on it."])
>>> result = Agent(model, tools=[update_plan]).run_sync("Plan my trip")
>>> for s in result.plan.steps:
...     print(s.step, "-", s.status)
Find flights - completed
Book hotel - in_progress
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from agentkit._run_context import RunContext
from agentkit.events import PlanUpdated
from agentkit.exceptions import ModelRetry
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage
from agentkit.tool import tool

__all__ = ["PLAN_TOOL_NAME", "Plan", "PlanStep", "current_plan", "update_plan"]

#: The planning tool's name.
PLAN_TOOL_NAME = "update_plan"

StepStatus = Literal["pending", "in_progress", "completed"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanStep:
    """One step of the plan and how far it is.

    Attributes:
        step: What the step does, in a short sentence.
        status: ``pending``, ``in_progress`` (at most one step) or ``completed``.
    """

    step: str
    status: StepStatus = "pending"


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """The model's plan: its steps in order, and why it last changed."""

    steps: tuple[PlanStep, ...]
    explanation: str | None = None


@tool(name=PLAN_TOOL_NAME)
async def update_plan(ctx: RunContext[Any], steps: list[PlanStep], explanation: str | None = None) -> str:
    """Record your plan for the task: the steps in order, each with its status.

    Call it first for a task of several steps, then again whenever a step starts or
    finishes. Keep at most one step in_progress.

    Args:
        ctx: The run (injected, not shown to the model).
        steps: Every step of the plan, in order, with its current status.
        explanation: Why the plan changed, if it did.
    """
    running = sum(s.status == "in_progress" for s in steps)
    if running > 1:
        raise ModelRetry(f"{running} steps are in_progress; keep at most one in_progress.")
    plan = Plan(steps=tuple(steps), explanation=explanation)
    if ctx.emit is not None:
        ctx.emit(PlanUpdated(turn=ctx.turn, plan=plan))
    done = sum(s.status == "completed" for s in steps)
    return f"Plan updated: {done} of {len(steps)} steps completed."


def current_plan(messages: Sequence[Message]) -> Plan | None:
    """Return the latest plan the model recorded in ``messages`` (``None`` if it never did).

    A plan counts once its call got a result that is not an error. Results are matched to
    the calls of the answer just before them, one result per call: the model may repeat a
    call id, so an id alone does not say which call a result belongs to.
    """
    latest: ToolCall | None = None
    waiting: list[ToolCall] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            waiting = list(message.tool_calls)
        elif isinstance(message, ToolMessage):
            call = next((c for c in waiting if c.id == message.tool_call_id), None)
            if call is not None:
                waiting.remove(call)
                if call.name == PLAN_TOOL_NAME and not message.is_error:
                    latest = call
        else:
            waiting = []
    return None if latest is None else _parse(latest.arguments)


def _parse(arguments: str) -> Plan | None:
    try:
        data = orjson.loads(arguments)
        steps = tuple(PlanStep(step=str(s["step"]), status=s.get("status", "pending")) for s in data["steps"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    explanation = data.get("explanation")
    return Plan(steps=steps, explanation=explanation if isinstance(explanation, str) else None)
