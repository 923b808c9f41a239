"""Reports: per case and overall, comparisons of experiments, and thresholds for tests.

A `Report` holds an experiment's run records and what they add up to: per case the
pass rate, each score's mean and spread over repetitions, tokens, cost and latency; overall
the pass rate, mean scores, tokens, cost at the model's prices (LLM judges apart), and
latency p50/p95. `compare` lines up two or more reports case by case and names the
cases whose result changed. Reports save to and load from JSON; [`agentkit.evals.render`][]
prints them and [`agentkit.evals.html`][] draws them.

>>> from agentkit.evals.records import RunRecord, Score
>>> ok = RunRecord(case="a", output="x", latency_s=1.0, scores={"contains": Score.check(True)})
>>> bad = RunRecord(case="b", status="failed", error={"type": "ModelHTTPError", "message": "500"},
...                 latency_s=3.0, scores={"contains": Score.check(False)})
>>> report = Report.build(name="v1", dataset="demo", records=[ok, bad])
>>> report.summary.pass_rate, report.summary.failed_runs, report.summary.latency_p50_s
(0.5, 1, 2.0)
>>> report.check(min_pass_rate=0.9)
['pass rate 50.0% is below 90.0%']
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.evals._stats import difference
from agentkit.evals.records import RunRecord
from agentkit.exceptions import UserError

__all__ = [
    "CaseSummary",
    "Comparison",
    "ComparisonRow",
    "PassRateDelta",
    "Report",
    "ScoreStats",
    "Summary",
    "compare",
]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` by linear interpolation (0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(values: Sequence[float]) -> float:
    return statistics.pstdev(values) if len(values) > 1 else 0.0


class ScoreStats(BaseModel):
    """One evaluator's results over several runs: mean value, spread, and how often it passed."""

    model_config = ConfigDict(frozen=True)

    mean: float
    spread: float
    pass_rate: float

    @classmethod
    def of(cls, values: Sequence[float], passed: Sequence[bool]) -> ScoreStats:
        """Summarise parallel lists of values and pass marks."""
        return cls(
            mean=statistics.fmean(values) if values else 0.0,
            spread=_spread(values),
            pass_rate=sum(passed) / len(passed) if passed else 0.0,
        )


def _score_table(records: Sequence[RunRecord]) -> dict[str, ScoreStats]:
    names = list(dict.fromkeys(n for r in records for n in r.scores))
    return {
        n: ScoreStats.of(
            [r.scores[n].value for r in records if n in r.scores],
            [r.scores[n].passed for r in records if n in r.scores],
        )
        for n in names
    }


def _run_score(record: RunRecord) -> float:
    """A run's mean score over its evaluators (a failed run scores 0; no evaluators: pass = 1)."""
    if record.status != "ok":
        return 0.0
    values = [s.value for s in record.scores.values()]
    return statistics.fmean(values) if values else 1.0


class CaseSummary(BaseModel):
    """One case over its repetitions.

    Attributes:
        case: the case's name.
        runs: runs recorded; ``passed`` of them passed every evaluator, ``failed_runs`` raised.
        pass_rate: ``passed / runs``.
        mean_score: the runs' mean score (each run's mean over its evaluators); ``spread``
            is its standard deviation over repetitions.
        scores: per evaluator: mean, spread and pass rate.
        tokens, cost_usd, latency_s, turns: means per run.
        errors: the distinct errors of failed runs.
    """

    model_config = ConfigDict(frozen=True)

    case: str
    runs: int
    passed: int
    failed_runs: int
    pass_rate: float
    mean_score: float
    spread: float
    scores: dict[str, ScoreStats]
    tokens: float
    cost_usd: float
    latency_s: float
    turns: float
    errors: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, case: str, records: Sequence[RunRecord]) -> CaseSummary:
        """Summarise one case's records."""
        run_scores = [_run_score(r) for r in records]
        errors = [f"{r.error.get('type')}: {r.error.get('message')}"[:300] for r in records if r.error]
        return cls(
            case=case,
            runs=len(records),
            passed=sum(r.passed for r in records),
            failed_runs=sum(r.status != "ok" for r in records),
            pass_rate=sum(r.passed for r in records) / len(records),
            mean_score=statistics.fmean(run_scores),
            spread=_spread(run_scores),
            scores=_score_table(records),
            tokens=statistics.fmean(r.total_tokens for r in records),
            cost_usd=statistics.fmean(r.cost_usd for r in records),
            latency_s=statistics.fmean(r.latency_s for r in records),
            turns=statistics.fmean(r.turns for r in records),
            errors=list(dict.fromkeys(errors)),
        )


class Summary(BaseModel):
    """An experiment overall.

    Attributes:
        cases, runs: how many; ``failed_runs`` of the runs raised.
        pass_rate: runs that passed every evaluator / runs.
        mean_score: mean of the runs' mean scores.
        scores: per evaluator: mean, spread and pass rate over all runs.
        input_tokens, output_tokens: totals over all runs.
        cost_usd: total at the model's prices; ``judge_cost_usd``: what LLM judges spent.
        latency_p50_s, latency_p95_s: run latency percentiles; ``mean_turns`` per run.
    """

    model_config = ConfigDict(frozen=True)

    cases: int
    runs: int
    failed_runs: int
    pass_rate: float
    mean_score: float
    scores: dict[str, ScoreStats]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    judge_cost_usd: float
    latency_p50_s: float
    latency_p95_s: float
    mean_turns: float

    @classmethod
    def of(cls, records: Sequence[RunRecord]) -> Summary:
        """Add up ``records``."""
        latencies = [r.latency_s for r in records]
        return cls(
            cases=len({r.case for r in records}),
            runs=len(records),
            failed_runs=sum(r.status != "ok" for r in records),
            pass_rate=sum(r.passed for r in records) / len(records) if records else 0.0,
            mean_score=statistics.fmean(_run_score(r) for r in records) if records else 0.0,
            scores=_score_table(records),
            input_tokens=sum(int(r.usage.get("input_tokens", 0)) for r in records),
            output_tokens=sum(int(r.usage.get("output_tokens", 0)) for r in records),
            cost_usd=sum(r.cost_usd for r in records),
            judge_cost_usd=sum(r.judge_cost_usd for r in records),
            latency_p50_s=percentile(latencies, 0.5),
            latency_p95_s=percentile(latencies, 0.95),
            mean_turns=statistics.fmean(r.turns for r in records) if records else 0.0,
        )


class Report(BaseModel):
    """One experiment's results (see the module docs); ``save``/``load`` as JSON.

    Attributes:
        experiment: the experiment's name.
        dataset: the dataset's name.
        model: the model the agent ran on, when known.
        created_at: when the report was built (Unix seconds).
        summary: the experiment overall.
        cases: one summary per case, in dataset order.
        records: every run record.
    """

    model_config = ConfigDict(frozen=True)

    experiment: str
    dataset: str
    model: str | None = None
    created_at: float = Field(default_factory=time.time)
    summary: Summary
    cases: list[CaseSummary]
    records: list[RunRecord]

    @classmethod
    def build(
        cls, *, name: str, dataset: str, records: Sequence[RunRecord], model: str | None = None
    ) -> Report:
        """Summarise ``records`` (per case in their order of first appearance, and overall).

        ``model`` defaults to the records' model when they all name the same one.
        """
        if model is None:
            models = {r.model for r in records if r.model}
            model = models.pop() if len(models) == 1 else None
        by_case: dict[str, list[RunRecord]] = {}
        for record in records:
            by_case.setdefault(record.case, []).append(record)
        return cls(
            experiment=name,
            dataset=dataset,
            model=model,
            summary=Summary.of(records),
            cases=[CaseSummary.of(case, runs) for case, runs in by_case.items()],
            records=list(records),
        )

    def case(self, name: str) -> CaseSummary:
        """The summary of case ``name``.

        Raises:
            KeyError: no such case in this report.
        """
        for summary in self.cases:
            if summary.case == name:
                return summary
        raise KeyError(name)

    def to_json(self) -> bytes:
        """The report as JSON (what `save` writes)."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.to_json() + b"\n")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Report:
        """Read a report saved with `save`.

        Raises:
            UserError: the file is missing or not a report.
        """
        source = Path(path)
        try:
            return cls.model_validate_json(source.read_bytes())
        except OSError as err:
            raise UserError(f"cannot read report {source}: {err.strerror or err}") from None
        except ValidationError as err:
            raise UserError(
                f"{source} is not an agentkit eval report ({err.error_count()} problems)"
            ) from None

    def check(
        self,
        *,
        min_pass_rate: float | None = None,
        min_scores: dict[str, float] | None = None,
        max_cost_usd: float | None = None,
        max_latency_p95_s: float | None = None,
        max_failed_runs: int | None = None,
    ) -> list[str]:
        """Return the thresholds this report misses, as sentences (empty: all met)."""
        s, problems = self.summary, []
        if min_pass_rate is not None and s.pass_rate < min_pass_rate:
            problems.append(f"pass rate {s.pass_rate:.1%} is below {min_pass_rate:.1%}")
        for name, low in (min_scores or {}).items():
            stats = s.scores.get(name)
            if stats is None:
                problems.append(f"no score named {name!r} (scores: {', '.join(s.scores) or 'none'})")
            elif stats.mean < low:
                problems.append(f"mean {name} {stats.mean:.3f} is below {low:.3f}")
        if max_cost_usd is not None and s.cost_usd > max_cost_usd:
            problems.append(f"cost ${s.cost_usd:.4f} is above ${max_cost_usd:.4f}")
        if max_latency_p95_s is not None and s.latency_p95_s > max_latency_p95_s:
            problems.append(f"latency p95 {s.latency_p95_s:.2f}s is above {max_latency_p95_s:.2f}s")
        if max_failed_runs is not None and s.failed_runs > max_failed_runs:
            problems.append(f"{s.failed_runs} runs failed (at most {max_failed_runs} allowed)")
        return problems

    def assert_thresholds(
        self,
        *,
        min_pass_rate: float | None = None,
        min_scores: dict[str, float] | None = None,
        max_cost_usd: float | None = None,
        max_latency_p95_s: float | None = None,
        max_failed_runs: int | None = None,
    ) -> None:
        """In a test: fail with every missed threshold and the failing cases listed.

        Raises:
            AssertionError: a threshold is missed.
        """
        problems = self.check(
            min_pass_rate=min_pass_rate,
            min_scores=min_scores,
            max_cost_usd=max_cost_usd,
            max_latency_p95_s=max_latency_p95_s,
            max_failed_runs=max_failed_runs,
        )
        if problems:
            failing = [c for c in self.cases if c.pass_rate < 1.0]
            lines = [f"eval {self.experiment!r} on {self.dataset!r} misses its thresholds:"]
            lines += [f"  - {p}" for p in problems]
            lines += [
                f"  case {c.case}: {c.passed}/{c.runs} passed; {_why(self, c.case)}" for c in failing[:20]
            ]
            raise AssertionError("\n".join(lines))


def _why(report: Report, case: str) -> str:
    """The first failing score's reason (or the error) of ``case``'s first failing run."""
    for record in report.records:
        if record.case != case or record.passed:
            continue
        if record.error:
            return f"{record.error.get('type')}: {record.error.get('message', '')[:160]}"
        for name, score in record.scores.items():
            if not score.passed:
                return f"{name}: {score.reason[:160]}"
    return ""


Change = Literal["same", "improved", "regressed", "changed", "missing"]


class ComparisonRow(BaseModel):
    """One case across experiments: its summary in each (``None`` where it is missing)."""

    model_config = ConfigDict(frozen=True)

    case: str
    results: list[CaseSummary | None]
    change: Change

    @property
    def changed(self) -> bool:
        """The case's result differs between the experiments."""
        return self.change != "same"


def _change(results: Sequence[CaseSummary | None], tolerance: float) -> Change:
    if any(r is None for r in results):
        return "missing"
    present = [r for r in results if r is not None]
    first, last = present[0], present[-1]
    rates = {r.pass_rate for r in present}
    means = [r.mean_score for r in present]
    if len(rates) == 1 and max(means) - min(means) <= tolerance:
        return "same"
    delta = (last.pass_rate - first.pass_rate) or (last.mean_score - first.mean_score)
    if len(present) == 2 and delta > 0:
        return "improved"
    if len(present) == 2 and delta < 0:
        return "regressed"
    return "changed"


class PassRateDelta(BaseModel):
    """An experiment's pass rate minus the baseline's, with a 95 % interval (Newcombe, runs as samples).

    ``significant``: the interval leaves out 0, so the difference is unlikely to be noise alone.
    """

    model_config = ConfigDict(frozen=True)

    delta: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval does not include 0."""
        return self.low > 0 or self.high < 0

    @classmethod
    def between(cls, base: Summary, other: Summary) -> PassRateDelta:
        """``other``'s pass rate minus ``base``'s."""
        passed = (
            round(base.pass_rate * base.runs),
            base.runs,
            round(other.pass_rate * other.runs),
            other.runs,
        )
        delta, low, high = difference(*passed)
        return cls(delta=delta, low=low, high=high)


class Comparison(BaseModel):
    """Experiments side by side: each one's summary, and every case's row.

    ``improved``/``regressed`` compare the last experiment with the first (the baseline);
    ``deltas`` give each experiment's pass rate minus the baseline's with a 95 % interval
    (``None`` for the baseline itself).
    """

    model_config = ConfigDict(frozen=True)

    experiments: list[str]
    models: list[str | None]
    summaries: list[Summary]
    rows: list[ComparisonRow]
    deltas: list[PassRateDelta | None] = Field(default_factory=list)

    @property
    def changed(self) -> list[ComparisonRow]:
        """The cases whose result differs between the experiments."""
        return [r for r in self.rows if r.changed]

    def to_json(self) -> bytes:
        """The comparison as JSON."""
        data = self.model_dump(mode="json")
        data["changed"] = [r.case for r in self.changed]
        return orjson.dumps(data, option=orjson.OPT_INDENT_2)


def compare(reports: Sequence[Report], *, tolerance: float = 1e-9) -> Comparison:
    """Line up ``reports`` case by case (the first is the baseline).

    A case changed when its pass rate differs, or its mean score by more than ``tolerance``.

    Raises:
        UserError: fewer than two reports.
    """
    if len(reports) < 2:
        raise UserError("a comparison needs two or more reports")
    names = list(dict.fromkeys(c.case for r in reports for c in r.cases))
    tables = [{c.case: c for c in r.cases} for r in reports]
    rows = []
    for name in names:
        results = [t.get(name) for t in tables]
        rows.append(ComparisonRow(case=name, results=results, change=_change(results, tolerance)))
    return Comparison(
        experiments=[r.experiment for r in reports],
        models=[r.model for r in reports],
        summaries=[r.summary for r in reports],
        rows=rows,
        deltas=[None, *(PassRateDelta.between(reports[0].summary, r.summary) for r in reports[1:])],
    )
