"""What a run returns, and the options one run takes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from agentkit.approval import Approver, PendingCall
from agentkit.hooks import RunHooks
from agentkit.images import ImageSource
from agentkit.messages import Message
from agentkit.models.abstract import ModelSettings, ToolChoice
from agentkit.usage import Usage, UsageLimits

if TYPE_CHECKING:
    from agentkit.planning import Plan
    from agentkit.run_state import RunState

__all__ = ["OutputT", "RunKwargs", "RunOptions", "RunResult"]

OutputT = TypeVar("OutputT")


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult(Generic[OutputT]):
    """The outcome of a run.

    Attributes:
        output: the final text, or an ``output_type`` instance.
        messages: the whole conversation, history included, as it would be sent next time.
        new_messages_start: index in ``messages`` where this run's messages begin.
        usage: tokens and calls this run spent.
        cost_usd: what this run cost at the provider's prices.
        run_id: this run's id (logs and traces carry it).
        turns: how many model turns the run took.
        pending: the tool calls waiting for approval when the run paused (else empty).
        state: the paused run's serialisable state, for ``agent.resume`` (else ``None``).

    A paused run (``paused`` is true) has no answer yet: its ``output`` is ``None``
    until it is resumed and finishes.
    """

    output: OutputT
    messages: tuple[Message, ...]
    new_messages_start: int
    usage: Usage
    cost_usd: float
    run_id: str
    turns: int
    pending: tuple[PendingCall, ...] = ()
    state: RunState | None = None

    @property
    def plan(self) -> Plan | None:
        """The model's latest plan, when it used the ``update_plan`` tool (see [`agentkit.planning`][])."""
        from agentkit.planning import current_plan  # noqa: PLC0415 - planning imports tools, which import this

        return current_plan(self.messages)

    @property
    def paused(self) -> bool:
        """Whether the run stopped to wait for approval decisions (see [`agentkit.approval`][])."""
        return self.state is not None

    @property
    def new_messages(self) -> tuple[Message, ...]:
        """The messages this run added (its prompt included)."""
        return self.messages[self.new_messages_start :]


class RunKwargs(TypedDict, total=False):
    """Keyword options accepted by ``Agent.run``, ``run_sync`` and ``stream``; see `RunOptions`."""

    deps: Any
    message_history: Sequence[Message]
    max_turns: int
    usage_limits: UsageLimits
    model_settings: ModelSettings
    tool_choice: ToolChoice
    timeout_s: float
    hooks: Sequence[RunHooks]
    session: str
    trace: str | os.PathLike[str] | RunHooks
    prefill: str
    prefill_name: str
    approve: Approver
    run_id: str
    images: Sequence[ImageSource]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    """The options of one run (per-run values override the agent's).

    Attributes:
        deps: passed to tools as ``RunContext.deps``.
        message_history: earlier conversation to continue from.
        max_turns: model turns allowed before [`MaxTurnsExceeded`][agentkit.exceptions.MaxTurnsExceeded].
        usage_limits: token, request, tool-call and cost limits.
        model_settings: sampling settings merged over the agent's.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a tool name, for the first turn.
        timeout_s: wall-clock limit for the whole run.
        hooks: extra [`RunHooks`][agentkit.hooks.RunHooks] for this run (after the agent's).
        session: continue and extend this stored session (needs ``Agent(memory=...)``).
        trace: record the run as a JSONL trace: a file path, or a trace writer hook.
        prefill: start the model's answer with this text (Kimi partial mode); the
            output includes it.
        prefill_name: the character the prefilled answer speaks as (role-play: sets the
            partial assistant message's ``name``).
        approve: decides on calls of tools that ``requires_approval`` (overrides the
            agent's); without one such a call pauses the run.
        run_id: this run's id in results, logs and traces (default: a random one); a
            durable run uses its workflow id.
        images: pictures sent with the prompt (file paths, bytes, URLs or
            [`ImagePart`][agentkit.images.ImagePart]); only vision models take them.
    """

    deps: Any = None
    message_history: Sequence[Message] = ()
    max_turns: int | None = None
    usage_limits: UsageLimits | None = None
    model_settings: ModelSettings | None = None
    tool_choice: ToolChoice | None = None
    timeout_s: float | None = None
    hooks: Sequence[RunHooks] = ()
    session: str | None = None
    trace: str | os.PathLike[str] | RunHooks | None = None
    prefill: str | None = None
    prefill_name: str | None = None
    approve: Approver | None = None
    run_id: str | None = None
    images: Sequence[ImageSource] = ()
