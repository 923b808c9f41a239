r"""An eval report (and a comparison) as one self-contained HTML page with charts.

No network and no external assets: the report is embedded as JSON in a
``<script type="application/json">`` block with every ``<``, ``>`` and ``&`` written as a
``\\u`` escape, so no output, reason or error text (``</script>``, ``<!--``) can end the block
or run as markup; the inline script builds the page with ``textContent`` and SVG elements
only. Charts: each case's mean score (bar) and pass rate, each evaluator's pass rate, the
latency of every run, and for a comparison each experiment's pass rate and cost, then the cases
that changed.
"""

from __future__ import annotations

import html
from typing import Any, Final

import orjson

from agentkit.evals.report import Comparison, Report

__all__ = ["embed_json", "render_report_html"]

_OUTPUT_CHARS = 2000

_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{padding:14px 22px;background:#1d2330;color:#fff}header h1{font-size:18px;margin:0 0 4px}
header .meta{opacity:.85;font-size:13px} main{padding:10px 22px}
section{background:#fff;border:1px solid #d9dde5;border-radius:6px;margin:12px 0;padding:10px 14px}
h2{font-size:15px;margin:2px 0 8px} h3{font-size:13px;margin:8px 0 4px;color:#5b6478}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f4;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.case{cursor:pointer} tr.case:hover{background:#eef3ff}
.pass{color:#1f8a4c;font-weight:600}.fail{color:#c43d3d;font-weight:600}.part{color:#b7791f;font-weight:600}
.improved{color:#1f8a4c}.regressed{color:#c43d3d;font-weight:600}.changed,.missing{color:#b7791f}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;border:1px solid #d9dde5;padding:6px;
 border-radius:4px;font-size:12px;margin:4px 0} svg text{font-size:11px;fill:#3b4252}
.detail td{background:#fbfcfe}
"""

_SCRIPT: Final = """
const data = JSON.parse(document.getElementById('report-data').textContent);
const NS = 'http://www.w3.org/2000/svg';
function el(tag, attrs, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function pct(x) { return (100 * x).toFixed(1) + '%'; }
function bars(id, items, max, fmt) {
  const width = 640, row = 18, left = 170;
  const svg = el('svg:svg', {width: width, height: items.length * row + 6});
  svg.setAttribute('class', 'chart');
  items.forEach((it, i) => {
    const y = i * row + 2, w = max > 0 ? (width - left - 70) * it.value / max : 0;
    svg.appendChild(el('svg:text', {x: 0, y: y + 12}, it.label.slice(0, 28)));
    const bar = el('svg:rect', {x: left, y: y, width: Math.max(w, 1), height: row - 5, rx: 2,
      fill: it.color || '#3b7ddd'});
    bar.setAttribute('class', 'bar'); bar.setAttribute('data-label', it.label);
    svg.appendChild(bar);
    svg.appendChild(el('svg:text', {x: left + Math.max(w, 1) + 6, y: y + 12}, fmt(it.value)));
  });
  document.getElementById(id).appendChild(svg);
}
function color(rate) { return rate >= 1 ? '#2e9e6a' : rate <= 0 ? '#d64545' : '#d69e2e'; }
function verdict(c) {
  const cls = c.pass_rate >= 1 ? 'pass' : c.pass_rate <= 0 ? 'fail' : 'part';
  return el('span', {class: cls}, c.failed_runs === c.runs ? 'error' : c.passed + '/' + c.runs);
}
function caseTable(report) {
  const body = document.getElementById('cases');
  const runs = {};
  for (const r of report.records) (runs[r.case] = runs[r.case] || []).push(r);
  for (const c of report.cases) {
    const tr = el('tr', {class: 'case', 'data-case': c.case});
    tr.append(el('td', {}, c.case));
    const v = el('td'); v.appendChild(verdict(c)); tr.append(v);
    const spread = c.runs > 1 ? ' ±' + c.spread.toFixed(2) : '';
    tr.append(el('td', {class: 'num'}, c.mean_score.toFixed(2) + spread));
    tr.append(el('td', {class: 'num'}, c.tokens.toFixed(0)));
    tr.append(el('td', {class: 'num'}, '$' + c.cost_usd.toFixed(4)));
    tr.append(el('td', {class: 'num'}, c.latency_s.toFixed(2) + ' s'));
    const detail = el('tr', {class: 'detail', hidden: ''}), td = el('td', {colspan: 6});
    for (const r of runs[c.case] || []) {
      td.append(el('div', {}, '#' + r.repetition + ' ' + r.status + (r.trace ? ' · trace ' + r.trace : '')));
      if (r.error) td.append(el('pre', {}, r.error.type + ': ' + r.error.message));
      else td.append(el('pre', {}, r.output));
      for (const [name, s] of Object.entries(r.scores))
        td.append(el('div', {class: s.passed ? 'pass' : 'fail'},
          name + ' ' + s.value.toFixed(2) + ' — ' + s.reason));
    }
    detail.appendChild(td);
    tr.onclick = () => { detail.hidden = !detail.hidden; };
    body.append(tr, detail);
  }
}
function comparison(cmp) {
  if (!cmp) return;
  document.getElementById('comparison').hidden = false;
  bars('cmp-pass', cmp.experiments.map((n, i) => ({label: n, value: cmp.summaries[i].pass_rate,
    color: color(cmp.summaries[i].pass_rate)})), 1, pct);
  bars('cmp-cost', cmp.experiments.map((n, i) => ({label: n, value: cmp.summaries[i].cost_usd,
    color: '#5b6478'})),
    Math.max(...cmp.summaries.map(s => s.cost_usd)), v => '$' + v.toFixed(4));
  const head = document.getElementById('cmp-head'), body = document.getElementById('cmp-rows');
  head.append(el('th', {}, 'case'));
  for (const n of cmp.experiments) head.append(el('th', {}, n));
  head.append(el('th', {}, 'change'));
  for (const row of cmp.rows.filter(r => r.change !== 'same')) {
    const tr = el('tr', {class: 'changed-row'});
    tr.append(el('td', {}, row.case));
    for (const c of row.results) {
      const td = el('td'); if (c) td.appendChild(verdict(c)); else td.textContent = '-'; tr.append(td);
    }
    tr.append(el('td', {class: row.change}, row.change));
    body.append(tr);
  }
  document.getElementById('cmp-count').textContent =
    cmp.rows.filter(r => r.change !== 'same').length + ' of ' + cmp.rows.length + ' cases changed';
}
const report = data.report;
bars('score-chart', report.cases.map(c => ({label: c.case, value: c.mean_score,
  color: color(c.pass_rate)})), 1, v => v.toFixed(2));
bars('latency-chart', report.records.map(r => ({label: r.case + '#' + r.repetition, value: r.latency_s,
  color: r.status === 'ok' ? '#3b7ddd' : '#d64545'})), Math.max(...report.records.map(r => r.latency_s), 0),
  v => v.toFixed(2) + ' s');
bars('evaluator-chart', Object.entries(report.summary.scores).map(([name, s]) => ({label: name,
  value: s.pass_rate, color: color(s.pass_rate)})), 1, pct);
caseTable(report);
comparison(data.comparison);
"""


def embed_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&``)."""
    text = orjson.dumps(value, default=str).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _payload(report: Report, comparison: Comparison | None) -> dict[str, Any]:
    data = report.model_dump(mode="json", exclude={"records"})
    data["records"] = [
        {
            "case": r.case,
            "repetition": r.repetition,
            "status": r.status,
            "output": r.output_text[:_OUTPUT_CHARS],
            "error": r.error,
            "scores": {k: s.model_dump() for k, s in r.scores.items()},
            "latency_s": r.latency_s,
            "trace": r.trace,
        }
        for r in report.records
    ]
    return {"report": data, "comparison": None if comparison is None else comparison.model_dump(mode="json")}


def render_report_html(report: Report, comparison: Comparison | None = None) -> str:
    """Return the report (and, when given, the comparison) as a self-contained HTML page."""
    s = report.summary
    meta = (
        f"dataset {report.dataset} · model {report.model or '-'} · {s.cases} cases, {s.runs} runs · "
        f"pass rate {s.pass_rate:.1%} · mean score {s.mean_score:.3f} · tokens {s.input_tokens} in / "
        f"{s.output_tokens} out · ${s.cost_usd:.4f} (judges ${s.judge_cost_usd:.4f}) · latency p50 "
        f"{s.latency_p50_s:.2f}s p95 {s.latency_p95_s:.2f}s · {s.failed_runs} failed runs"
    )
    title = html.escape(report.experiment)
    data = embed_json(_payload(report, comparison))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>agentkit eval · {title}</title><style>{_STYLE}</style></head><body>"
        f'<header><h1>eval {title}</h1><div class="meta">{html.escape(meta)}</div></header><main>'
        '<section><h2>Mean score per case (colour: pass rate)</h2><div id="score-chart"></div></section>'
        '<section><h2>Pass rate per evaluator</h2><div id="evaluator-chart"></div></section>'
        '<section><h2>Latency of every run</h2><div id="latency-chart"></div></section>'
        "<section><h2>Cases (click a row for its runs)</h2><table><thead><tr><th>case</th><th>passed</th>"
        "<th>score</th><th>tokens</th><th>cost</th><th>latency</th></tr></thead>"
        '<tbody id="cases"></tbody></table></section>'
        '<section id="comparison" hidden><h2>Comparison</h2>'
        '<h3>Pass rate</h3><div id="cmp-pass"></div><h3>Cost</h3><div id="cmp-cost"></div>'
        '<p id="cmp-count"></p><table><thead><tr id="cmp-head"></tr></thead><tbody id="cmp-rows"></tbody>'
        "</table></section></main>"
        f'<script type="application/json" id="report-data">{data}</script>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
