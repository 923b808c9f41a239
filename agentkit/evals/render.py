"""Reports and comparisons as terminal tables (rich), plain text when not on a terminal.

>>> from agentkit.evals.records import RunRecord, Score
>>> from agentkit.evals.report import Report
>>> report = Report.build(name="v1", dataset="demo", records=[
...     RunRecord(case="oslo", output="x", latency_s=0.5, scores={"contains": Score.check(True)})])
>>> summary_line(report.summary).startswith("1 cases, 1 runs, pass rate 100.0%, mean score 1.000")
True
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentkit.evals.report import CaseSummary, Comparison, PassRateDelta, Report, Summary

__all__ = [
    "comparison_table",
    "comparison_text",
    "experiments_table",
    "report_table",
    "report_text",
    "summary_line",
]

_CHANGE_STYLE = {"improved": "green", "regressed": "bold red", "changed": "yellow", "missing": "magenta"}


def summary_line(s: Summary) -> str:
    """An experiment overall, in one line."""
    return (
        f"{s.cases} cases, {s.runs} runs, pass rate {s.pass_rate:.1%}, mean score {s.mean_score:.3f}, "
        f"{s.input_tokens} in / {s.output_tokens} out tokens, "
        f"${s.cost_usd:.4f} (judges ${s.judge_cost_usd:.4f}), "
        f"latency p50 {s.latency_p50_s:.2f}s p95 {s.latency_p95_s:.2f}s"
        + (f", {s.failed_runs} runs FAILED" if s.failed_runs else "")
    )


def _verdict(c: CaseSummary) -> Text:
    if c.failed_runs == c.runs:
        return Text("error", style="bold red")
    style = "green" if c.pass_rate == 1.0 else "red" if c.pass_rate == 0.0 else "yellow"
    return Text(f"{c.passed}/{c.runs}", style=style)


def _first_problem(report: Report, case: str) -> str:
    for record in report.records:
        if record.case != case or record.passed:
            continue
        if record.error:
            return f"{record.error.get('type')}: {record.error.get('message', '')}"
        for name, score in record.scores.items():
            if not score.passed:
                return f"{name}: {score.reason}"
    return ""


def report_table(report: Report) -> Table:
    """Per case: passed runs, mean score ± spread, tokens, cost, latency, and the first problem."""
    table = Table(title=f"eval {report.experiment} on {report.dataset}", title_justify="left")
    for column, justify in (
        ("case", "left"),
        ("passed", "right"),
        ("score", "right"),
        ("tokens", "right"),
        ("cost $", "right"),
        ("latency s", "right"),
        ("why not", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in report.cases:
        score = f"{c.mean_score:.2f}" + (f" ±{c.spread:.2f}" if c.runs > 1 else "")
        table.add_row(
            Text(c.case),
            _verdict(c),
            score,
            f"{c.tokens:.0f}",
            f"{c.cost_usd:.4f}",
            f"{c.latency_s:.2f}",
            Text(_first_problem(report, c.case)[:120], style="dim"),
        )
    table.caption = summary_line(report.summary)
    table.caption_justify = "left"
    return table


def experiments_table(comparison: Comparison) -> Table:
    """One row per experiment: its model, pass rate, mean score, tokens, cost and latency."""
    table = Table(title="experiments", title_justify="left")
    columns = ("experiment", "model", "pass rate", "vs first (95% CI)", "score", "tokens in/out", "cost $")
    for column in (*columns, "p50 s", "p95 s"):
        table.add_column(column, justify="left" if column in ("experiment", "model") else "right")
    deltas = comparison.deltas or [None] * len(comparison.experiments)
    rows = zip(comparison.experiments, comparison.models, comparison.summaries, deltas, strict=True)
    for name, model, s, delta in rows:
        table.add_row(
            name,
            model or "-",
            f"{s.pass_rate:.1%}",
            _delta(delta),
            f"{s.mean_score:.3f}",
            f"{s.input_tokens}/{s.output_tokens}",
            f"{s.cost_usd:.4f}",
            f"{s.latency_p50_s:.2f}",
            f"{s.latency_p95_s:.2f}",
        )
    return table


def _delta(delta: PassRateDelta | None) -> str:
    if delta is None:
        return "baseline"
    mark = " *" if delta.significant else ""
    return f"{delta.delta:+.1%} [{delta.low:+.1%}, {delta.high:+.1%}]{mark}"


def comparison_table(comparison: Comparison, *, changed_only: bool = False) -> Table:
    """Per case, each experiment's passed runs and mean score, and what changed from the first."""
    table = Table(title=f"cases: {' vs '.join(comparison.experiments)}", title_justify="left")
    table.add_column("case", overflow="fold")
    for name in comparison.experiments:
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("change")
    for row in comparison.rows:
        if changed_only and not row.changed:
            continue
        cells = [
            Text("-")
            if r is None
            else Text(f"{r.passed}/{r.runs} {r.mean_score:.2f}", style=_verdict(r).style)
            for r in row.results
        ]
        table.add_row(Text(row.case), *cells, Text(row.change, style=_CHANGE_STYLE.get(row.change, "dim")))
    table.caption = f"{len(comparison.changed)} of {len(comparison.rows)} cases changed"
    table.caption_justify = "left"
    return table


def _render(*tables: Table, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False)
    for table in tables:
        console.print(table)
    return out.getvalue().rstrip()


def report_text(report: Report, *, width: int = 120) -> str:
    """The per-case table and the summary line under it, as plain text."""
    return _render(report_table(report), width=width)


def comparison_text(comparison: Comparison, *, width: int = 120, changed_only: bool = False) -> str:
    """The experiments table and the per-case table as plain text."""
    return _render(
        experiments_table(comparison), comparison_table(comparison, changed_only=changed_only), width=width
    )
