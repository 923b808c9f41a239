"""The evaluator contract: ``evaluate(case, run) -> Score``, sync or async."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from agentkit.evals.records import RunRecord, Score

if TYPE_CHECKING:
    from agentkit.evals.dataset import Case

__all__ = ["Evaluator", "JudgeSpend", "score_run"]


class JudgeSpend:
    """What LLM judges spent while scoring one run (added to the record, apart from its cost)."""

    __slots__ = ("cost_usd", "tokens")

    def __init__(self) -> None:
        self.cost_usd = 0.0
        self.tokens = 0


class Evaluator(BaseModel):
    """Base of every evaluator: subclass it and implement `evaluate`.

    Attributes:
        name: the score's name in reports (default: derived from the evaluator and its settings).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str | None = None

    def label(self) -> str:
        """The score's name: ``name`` when set, else `default_name`."""
        return self.name or self.default_name()

    def default_name(self) -> str:
        """A name derived from the evaluator's kind (subclasses add their settings)."""
        return str(getattr(self, "kind", type(self).__name__.lower()))

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score | Any:
        """Score ``run`` of ``case``; may be a coroutine function. ``spend`` collects judge costs."""
        raise NotImplementedError


async def score_run(evaluators: list[Evaluator], case: Case, run: RunRecord) -> RunRecord:
    """Return ``run`` with every evaluator's score (a failed run fails them all, saying why).

    An evaluator that raises scores 0 with the error as its reason: one broken check never
    loses the run or the other scores.
    """
    spend = JudgeSpend()
    scores: dict[str, Score] = {}
    for evaluator in evaluators:
        label = evaluator.label()
        if run.status != "ok":
            error = run.error or {}
            scores[label] = Score.check(False, f"the run failed: {error.get('type')}: {error.get('message')}")
            continue
        try:
            outcome = evaluator.evaluate(case, run, spend)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            scores[label] = _as_score(outcome)
        except Exception as err:  # a broken evaluator scores 0 with its error, never loses the run
            scores[label] = Score.check(False, f"evaluator raised {type(err).__name__}: {err}")
    return run.model_copy(
        update={"scores": scores, "judge_cost_usd": spend.cost_usd, "judge_tokens": spend.tokens}
    )


def _as_score(outcome: Any) -> Score:
    """Accept a Score, a bool, a number in [0, 1], or ``(bool | number, reason)``."""
    if isinstance(outcome, Score):
        return outcome
    reason = ""
    if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[1], str):
        outcome, reason = outcome
    if isinstance(outcome, bool):
        return Score.check(outcome, reason)
    if isinstance(outcome, int | float):
        value = float(outcome)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"a score must be in [0, 1], got {value}")
        return Score(value=value, passed=value >= 0.5, reason=reason)
    raise TypeError(
        f"an evaluator returns a Score, a bool or a number in [0, 1], not {type(outcome).__name__}"
    )
