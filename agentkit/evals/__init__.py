"""Evaluations: score an agent on a dataset, compare experiments, verify an endpoint.

- `Dataset` / `Case`: prompts, expected outputs, metadata, per-case checks;
  built in Python or loaded from YAML/JSON/JSONL.
- Evaluators ([`agentkit.evals.evaluators`][], `LLMJudge`): each scores a run in
  [0, 1], passes or fails it, and says why.
- `run_eval`: cases in parallel, repeated, traced, stored, resumable, offline from
  recorded traces; `rescore` re-scores stored runs without calling the model.
- `Report` / `compare`: per case and overall, experiments side by side, as
  tables ([`agentkit.evals.render`][]), JSON and HTML ([`agentkit.evals.html`][]);
  `Report.assert_thresholds` in tests.

The guide is ``docs/evals.md``; ``agentkit eval`` and ``agentkit verify`` are the commands.
"""

from agentkit.evals._base import Evaluator, JudgeSpend
from agentkit.evals.dataset import Case, Dataset, DatasetError
from agentkit.evals.evaluators import (
    Contains,
    CostWithin,
    Equals,
    EvaluatorSpec,
    Function,
    LatencyWithin,
    MatchesSchema,
    NoToolErrors,
    Regex,
    TokensWithin,
    ToolCalled,
    ToolCallsWithin,
    ToolOrder,
    TurnsWithin,
)
from agentkit.evals.judge import LLMJudge, Verdict
from agentkit.evals.records import RunRecord, Score, ToolCallRecord, read_results
from agentkit.evals.report import CaseSummary, Comparison, ComparisonRow, Report, ScoreStats, Summary, compare
from agentkit.evals.runner import AgentSource, rescore, run_eval, trace_name

__all__ = [
    "AgentSource",
    "Case",
    "CaseSummary",
    "Comparison",
    "ComparisonRow",
    "Contains",
    "CostWithin",
    "Dataset",
    "DatasetError",
    "Equals",
    "Evaluator",
    "EvaluatorSpec",
    "Function",
    "JudgeSpend",
    "LLMJudge",
    "LatencyWithin",
    "MatchesSchema",
    "NoToolErrors",
    "Regex",
    "Report",
    "RunRecord",
    "Score",
    "ScoreStats",
    "Summary",
    "TokensWithin",
    "ToolCallRecord",
    "ToolCalled",
    "ToolCallsWithin",
    "ToolOrder",
    "TurnsWithin",
    "Verdict",
    "compare",
    "read_results",
    "rescore",
    "run_eval",
    "trace_name",
]
