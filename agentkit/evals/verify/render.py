"""Verify reports as a side-by-side table (terminal) and a self-contained HTML page.

One column per endpoint, one row per metric; in HTML the rates are also drawn as bars and
each endpoint's problems are listed. Every value reaches the page through ``html.escape``
(the page has no script), so nothing an endpoint answers can become markup.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from agentkit.evals.verify import EndpointResult, VerifyReport
from agentkit.evals.verify.metrics import EndpointSummary

__all__ = ["ROWS", "verify_html", "verify_table", "verify_text"]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _mix(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _similarity(s: EndpointSummary) -> str:
    if s.similarity is None:
        return "-"
    m = s.similarity
    return f"F1 {m.f1:.1%} (P {m.precision:.1%}, R {m.recall:.1%}, n={m.compared})"


#: The table's rows: label and how to show the metric.
ROWS: tuple[tuple[str, Callable[[EndpointSummary], str]], ...] = (
    ("requests succeeded", lambda s: f"{s.succeeded}/{s.requests} ({_pct(s.success_rate)})"),
    ("finish reasons", lambda s: _mix(s.finish_reasons)),
    ("did what the suite expects", lambda s: _pct(s.expected_behaviour)),
    ("trigger similarity to reference", _similarity),
    ("tool calls (answers with calls)", lambda s: f"{s.calls} ({s.tool_call_answers})"),
    (
        "schema accuracy",
        lambda s: (
            f"{_pct(s.schema_accuracy)} ({s.schema_valid_calls}/{s.calls})" if s.calls else "- (no calls)"
        ),
    ),
    ("schema-validation errors", lambda s: str(s.schema_errors)),
    ("malformed arguments", lambda s: str(s.malformed_args)),
    ("double-encoded arguments", lambda s: str(s.double_encoded_args)),
    ("unknown tool names", lambda s: str(s.unknown_tools)),
    ("tool-call markup in content", lambda s: str(s.markup_leaks)),
    ("empty answers (null content)", lambda s: str(s.empty_answers)),
    ("id formats", lambda s: _mix(s.id_formats)),
    ("duplicate ids in a message", lambda s: str(s.duplicate_ids)),
    ("parallel calls", lambda s: s.parallel_calls),
    ("reasoning_content returned", lambda s: s.reasoning_returned),
    ("reasoning_content round trip", lambda s: s.reasoning_round_trip),
    ("usage present (not streamed)", lambda s: s.usage_nonstream),
    ("usage present (streamed)", lambda s: s.usage_stream),
    ("latency p50 / p95", lambda s: f"{s.latency_p50_s:.2f}s / {s.latency_p95_s:.2f}s"),
    ("tokens in / out", lambda s: f"{s.input_tokens} / {s.output_tokens}"),
    ("cost", lambda s: f"${s.cost_usd:.4f}"),
)


def _heading(result: EndpointResult) -> str:
    return f"{result.name}\n{result.model}"


def verify_table(report: VerifyReport) -> Table:
    """Metrics as rows, endpoints as columns."""
    table = Table(
        title=f"agentkit verify (suite v{report.suite_version}, {report.repeat} pass(es))",
        title_justify="left",
    )
    table.add_column("metric")
    for result in report.endpoints:
        table.add_column(_heading(result), overflow="fold")
    for label, show in ROWS:
        table.add_row(label, *(show(r.summary) for r in report.endpoints))
    if report.reference:
        table.caption = f"reference: {report.reference}"
    return table


def verify_text(report: VerifyReport, *, width: int = 140, problems: int = 8) -> str:
    """The table, then each endpoint's first ``problems`` problems, as plain text."""
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False)
    console.print(verify_table(report))
    for result in report.endpoints:
        listed = result.summary.problems[:problems]
        if listed:
            console.print(f"{result.name}: {len(result.summary.problems)} problem(s), first ones:")
            for line in listed:
                console.print(f"  - {line}", markup=False)
    return out.getvalue().rstrip()


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{padding:14px 22px;background:#1d2330;color:#fff}h1{font-size:18px;margin:0}main{padding:10px 22px}
table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid #e3e6ec;padding:4px 10px;
text-align:left;vertical-align:top}th{background:#eef0f4}
.bar{display:inline-block;height:10px;border-radius:2px;background:#3b7ddd;margin-right:6px;vertical-align:middle}
li{font-family:monospace;font-size:12px}
"""


def _bar(rate: float) -> str:
    color = "#2e9e6a" if rate >= 0.999 else "#d69e2e" if rate >= 0.8 else "#d64545"
    return f'<span class="bar" style="width:{round(120 * rate)}px;background:{color}"></span>'


def _rates(s: EndpointSummary) -> list[tuple[str, float]]:
    rates = [("success", s.success_rate), ("expected", s.expected_behaviour), ("schema", s.schema_accuracy)]
    if s.similarity is not None:
        rates.append(("trigger F1", s.similarity.f1))
    return rates


def verify_html(report: VerifyReport) -> str:
    """A self-contained HTML page: the side-by-side table with rate bars, and the problems."""
    esc = html.escape
    head = "".join(
        f"<th>{esc(r.name)}<br><small>{esc(r.model)} · {esc(r.base_url)}</small></th>"
        for r in report.endpoints
    )
    rows = "".join(
        f"<tr><td>{esc(label)}</td>"
        + "".join(f"<td>{esc(show(r.summary))}</td>" for r in report.endpoints)
        + "</tr>"
        for label, show in ROWS
    )
    bars = "".join(
        "<td>"
        + "<br>".join(f"{_bar(rate)}{esc(name)} {rate:.1%}" for name, rate in _rates(r.summary))
        + "</td>"
        for r in report.endpoints
    )
    problems = "".join(
        f"<h2>{esc(r.name)}: {len(r.summary.problems)} problem(s)</h2><ul>"
        + "".join(f"<li>{esc(p)}</li>" for p in r.summary.problems)
        + "</ul>"
        for r in report.endpoints
    )
    title = f"agentkit verify · suite v{report.suite_version}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{_STYLE}</style></head><body><header><h1>{esc(title)}</h1></header><main>"
        f"<table><thead><tr><th>metric</th>{head}</tr></thead><tbody><tr><td>rates</td>{bars}</tr>"
        f"{rows}</tbody></table>{problems}</main></body></html>"
    )
