"""Runs paused inside a tool call: an agent used as a tool whose own run waits for decisions.

The sub-run's tool raises `SubRunPaused` with the sub-run's state; the tool runner
turns it into a paused `CallOutcome` and the calling run
pauses with that state (``RunState.nested``). On ``resume``, the calling run's decisions
are split by `split_decisions`: those keyed ``"<call key>/<sub-run key>"`` go to the
sub-run, which the tool phase runs again under `resuming` so that the tool continues
its paused run (`take_resume`) instead of starting a new one.

The approver of the calling run (``approve=``) is also the sub-run's when the agent used as
a tool has none of its own (`approving`, `inherited_approver`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from agentkit.approval import Approver, Decision
from agentkit.run_state import NESTED_KEY_SEPARATOR, RunState

__all__ = [
    "SubRunPaused",
    "SubRunResume",
    "approving",
    "inherited_approver",
    "resuming",
    "split_decisions",
    "take_resume",
]


class SubRunPaused(Exception):
    """Raised by a tool whose sub-run paused; ``message`` is the call's result where no pause is possible."""

    def __init__(self, state: RunState, message: str) -> None:
        self.state = state
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, kw_only=True, slots=True)
class SubRunResume:
    """A paused sub-run to continue, and the decisions for its waiting calls (its own keys)."""

    state: RunState
    decisions: Mapping[str, Decision] = field(default_factory=dict)


_RESUME: ContextVar[SubRunResume | None] = ContextVar("agentkit_sub_run_resume", default=None)
_APPROVER: ContextVar[Approver | None] = ContextVar("agentkit_run_approver", default=None)


def resuming(resume: SubRunResume | None) -> contextlib.AbstractContextManager[None]:
    """Run the block (one tool call) as the continuation of ``resume``'s paused sub-run.

    Nothing to set for the usual call (no sub-run to continue, none set around it).
    """
    if resume is None and _RESUME.get() is None:
        return contextlib.nullcontext()
    return _resuming(resume)


@contextlib.contextmanager
def _resuming(resume: SubRunResume | None) -> Iterator[None]:
    token = _RESUME.set(resume)
    try:
        yield
    finally:
        _RESUME.reset(token)


def take_resume() -> SubRunResume | None:
    """The paused sub-run this tool call continues, if any; later calls in this context see none."""
    found = _RESUME.get()
    if found is not None:
        _RESUME.set(None)  # the sub-run's own tool calls start afresh
    return found


@contextlib.contextmanager
def approving(approver: Approver | None) -> Iterator[None]:
    """Make ``approver`` the one agents used as tools inherit inside the block (one run)."""
    token = _APPROVER.set(approver)
    try:
        yield
    finally:
        _APPROVER.reset(token)


def inherited_approver() -> Approver | None:
    """The approver of the run this code is part of (``None`` outside a run, or when it has none)."""
    return _APPROVER.get()


def split_decisions(
    decisions: Mapping[str, Decision],
) -> tuple[dict[str, Decision], dict[str, dict[str, Decision]]]:
    """Decisions for this run's own calls, and those for sub-runs by the calling call's key."""
    own: dict[str, Decision] = {}
    nested: dict[str, dict[str, Decision]] = {}
    for key, decision in decisions.items():
        outer, separator, inner = key.partition(NESTED_KEY_SEPARATOR)
        if separator:
            nested.setdefault(outer, {})[inner] = decision
        else:
            own[key] = decision
    return own, nested
