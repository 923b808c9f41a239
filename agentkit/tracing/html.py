"""A trace as one self-contained HTML page: a timeline of spans and their details.

No network, no external assets: the spans are embedded as JSON and drawn by a few lines
of inline JavaScript. Each span is a row with a bar placed on the run's time axis, so
parallel tool calls show as overlapping bars; clicking a row shows its messages,
arguments, result and usage.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, Final

import orjson

from agentkit._redact import redact_text
from agentkit.tracing.abstract import Span
from agentkit.tracing.reader import Trace
from agentkit.tracing.spans import spans_from_trace
from agentkit.tracing.timeline import format_plan, latest_plan, markers
from agentkit.usage import counted, format_usd

__all__ = ["embed_json", "render_html"]

_STYLE: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{padding:12px 20px;background:#1d2330;color:#fff}
header h1{font-size:17px;margin:0 0 4px} header .meta{opacity:.8;font-size:13px}
main{display:grid;grid-template-columns:minmax(560px,3fr) 2fr;gap:0;height:calc(100vh - 64px)}
#rows{overflow:auto;padding:8px 0;border-right:1px solid #d9dde5;background:#fff}
.row{display:grid;grid-template-columns:340px 1fr 90px;align-items:center;height:26px;
 cursor:pointer;padding:0 12px;border-bottom:1px solid #f0f1f4}
.row:hover{background:#eef3ff} .row.sel{background:#dde8ff}
.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:13px}
.lane{position:relative;height:16px;background:#f3f4f7;border-radius:3px}
.bar{position:absolute;top:0;height:16px;border-radius:3px;min-width:2px}
.run .bar{background:#5b6478}.turn .bar{background:#9aa5bd}.model_call .bar{background:#3b7ddd}
.tool_call .bar{background:#2e9e6a}.err .bar{background:#d64545}
.dur{text-align:right;font-variant-numeric:tabular-nums;font-size:12px;color:#5b6478}
#detail{overflow:auto;padding:12px 16px} #detail h2{font-size:15px;margin:4px 0 8px}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #d9dde5;
 padding:8px;border-radius:4px;font-size:12px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.marker .bar{background:#c07a12;width:3px!important;min-width:3px}.marker .name{font-style:italic}
#plan{margin:6px 0 0;padding:0;list-style:none;font-size:13px;display:flex;gap:14px;flex-wrap:wrap}
#plan li{color:#c9cfdb}#plan li.completed{color:#9fd3a8;text-decoration:line-through}
#plan li.in_progress{color:#ffd27a;font-weight:600}
.axis{position:sticky;top:0;z-index:1;background:#fff;cursor:default;border-bottom:1px solid #d9dde5}
.axis .lane{background:none}.tick{position:absolute;top:0;font-size:11px;color:#5b6478;
 transform:translateX(-50%);white-space:nowrap}.tick:first-child{transform:none}
"""

_SCRIPT: Final = r"""
const data = JSON.parse(document.getElementById('spans').textContent);
const spans = data.spans, t0 = data.start, total = Math.max(data.end - t0, 1);
const children = {};
for (const s of spans) (children[s.parent_id] = children[s.parent_id] || []).push(s);
for (const k in children) children[k].sort((a, b) => a.start_ns - b.start_ns);
const rows = document.getElementById('rows'), detail = document.getElementById('detail');
function fmt(s) { return s >= 1 ? s.toFixed(2) + ' s' : (s * 1000).toFixed(1) + ' ms'; }
// JSON held in strings (tool arguments, results) is shown as structure; long floats are rounded.
function tidy(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? v : +v.toPrecision(6);
  if (typeof v === 'string' && /^\s*[\[{]/.test(v)) {
    try { return tidy(JSON.parse(v)); } catch (e) { return v; }
  }
  if (Array.isArray(v)) return v.map(tidy);
  if (v && typeof v === 'object') { const o = {}; for (const k in v) o[k] = tidy(v[k]); return o; }
  return v;
}
// A tool call's row shows its argument values, so parallel calls of one tool can be told apart.
function label(s) {
  const args = s.kind === 'tool_call' && s.attributes ? s.attributes.arguments : null;
  if (typeof args !== 'string' || args === '{}') return s.name;
  let shown = args.replace(/\s+/g, ' ');
  try {
    const parsed = JSON.parse(args);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const text = v => typeof v === 'object' ? JSON.stringify(v) : String(v);
      shown = Object.values(parsed).map(text).join(', ');
    }
  } catch (e) { /* not JSON: show it as it is */ }
  return s.name + '(' + (shown.length > 60 ? shown.slice(0, 59) + '…' : shown) + ')';
}
function show(s, row) {
  document.querySelectorAll('.row.sel').forEach(r => r.classList.remove('sel'));
  row.classList.add('sel');
  detail.innerHTML = '';
  const h = document.createElement('h2'); h.textContent = s.name; detail.appendChild(h);
  const info = {duration: fmt((s.end_ns - s.start_ns) / 1e9), error: s.error, ...tidy(s.attributes)};
  const pre = document.createElement('pre'); pre.textContent = JSON.stringify(info, null, 2);
  detail.appendChild(pre);
}
// Axis ticks at round times: a step of 1, 2, 2.5 or 5 times a power of ten, four to seven ticks.
function tickStep(span) {
  const raw = span / 6, power = Math.pow(10, Math.floor(Math.log10(raw)));
  return power * [1, 2, 2.5, 5, 10].find(m => m * power >= raw);
}
function tickLabel(s) {
  const round = v => String(+v.toPrecision(12));
  return s >= 1 ? round(s) + ' s' : round(s * 1000) + ' ms';
}
function axis() {
  const row = document.createElement('div'); row.className = 'row axis';
  const name = document.createElement('div'); name.className = 'name'; name.textContent = 'time since start';
  const lane = document.createElement('div'); lane.className = 'lane';
  const span = total / 1e9, step = tickStep(span);
  for (let i = 0; i * step <= span * (1 + 1e-9); i++) {
    const tick = document.createElement('span'); tick.className = 'tick';
    tick.style.left = (100 * i * step / span) + '%'; tick.textContent = tickLabel(i * step);
    lane.appendChild(tick);
  }
  row.append(name, lane, document.createElement('div')); rows.appendChild(row);
}
function add(s, depth) {
  const row = document.createElement('div');
  row.className = 'row ' + s.kind + (s.error ? ' err' : '');
  row.dataset.kind = s.kind;
  const name = document.createElement('div'); name.className = 'name';
  name.style.paddingLeft = (depth * 14) + 'px'; name.textContent = label(s); name.title = label(s);
  const lane = document.createElement('div'); lane.className = 'lane';
  const bar = document.createElement('div'); bar.className = 'bar';
  bar.style.left = (100 * (s.start_ns - t0) / total) + '%';
  bar.style.width = (100 * (s.end_ns - s.start_ns) / total) + '%';
  lane.appendChild(bar);
  const dur = document.createElement('div'); dur.className = 'dur';
  dur.textContent = fmt((s.end_ns - s.start_ns) / 1e9);
  row.append(name, lane, dur); row.onclick = () => show(s, row); rows.appendChild(row);
  for (const c of children[s.span_id] || []) add(c, depth + 1);
}
axis();
for (const root of children['null'] || []) add(root, 0);
data.markers.forEach((m, i) => add({...m, span_id: 'marker-' + i, end_ns: m.start_ns, error: null}, 1));
const first = rows.querySelector('.row:not(.axis)'); if (first) first.click();
"""


def _marker_rows(trace: Trace) -> list[dict[str, Any]]:
    """Decisions, pauses and plan changes as zero-length timeline rows."""
    return [
        {
            "kind": "marker",
            "name": m.text,
            "start_ns": m.time_ns,
            "attributes": {k: v for k, v in m.record.items() if k != "time_ns"},
        }
        for m in markers(trace)
    ]


def _plan_html(trace: Trace) -> str:
    """The run's last plan as a list, each step marked with its status."""
    steps = latest_plan(trace)
    if not steps:
        return ""
    items = "".join(
        f'<li class="{html.escape(str(s.get("status")))}">{html.escape(line)}</li>'
        for s, line in zip(steps, format_plan(steps), strict=True)
    )
    return f'<ul id="plan" title="the plan as the run left it">{items}</ul>'


def _readable(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A span's attributes with its cost in dollars as people read it (``$0.0151``, not ``0.0150865``)."""
    shown = dict(attributes)
    if isinstance(shown.get("cost_usd"), int | float):
        shown["cost_usd"] = format_usd(float(shown["cost_usd"]))
    return shown


def _payload(spans: list[Span]) -> dict[str, Any]:
    starts = [s.start_ns for s in spans] or [0]
    ends = [s.end_ns for s in spans] or [0]
    return {
        "start": min(starts),
        "end": max(ends),
        "spans": [
            {
                "span_id": s.span_id,
                "parent_id": s.parent_id or "null",
                "kind": s.kind,
                "name": s.name,
                "start_ns": s.start_ns,
                "end_ns": s.end_ns,
                "attributes": _readable(s.attributes),
                "error": s.error,
            }
            for s in spans
        ],
    }


def embed_json(value: Any) -> str:
    r"""``value`` as JSON safe inside a ``<script>`` element, whatever its strings hold.

    Secrets are redacted first (the policy of [`agentkit._redact`][]).
    ``<``, ``>`` and ``&`` only occur inside JSON strings, where ``\u003c`` etc. mean the
    same characters; so no content can end the element (``</script>``) or switch the HTML
    parser into its escaped states (``<!--<script>``), which would swallow the rest of the page.

    >>> print(embed_json({"t": "<!--<script></script>&"}))
    {"t":"\u003c!--\u003cscript\u003e\u003c/script\u003e\u0026"}
    """
    text = redact_text(orjson.dumps(value, default=str).decode())
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(trace: Trace) -> str:
    """Return a self-contained HTML page showing ``trace`` as a timeline."""
    spans = spans_from_trace(trace)
    payload = {**_payload(spans), "markers": _marker_rows(trace)}
    data = embed_json(payload)
    header = trace.header
    final = trace.final or {}
    usage = final.get("usage") or {}
    meta = (
        f"model {header.get('model')} · origin {header.get('origin')}"
        f" · {counted(len(trace.model_calls), 'model call')}"
        f" · {counted(len(trace.of_type('tool_call')), 'tool call')}"
        f" · tokens {int(usage.get('input_tokens', 0)):,} in / {int(usage.get('output_tokens', 0)):,} out"
        f" · {format_usd(float(final.get('cost_usd', 0.0)))}"
    )
    legend = "".join(
        f'<span><i style="background:{c}"></i>{k}</span>'
        for k, c in (
            ("run", "#5b6478"),
            ("turn", "#9aa5bd"),
            ("model call", "#3b7ddd"),
            ("tool call", "#2e9e6a"),
            ("decision / plan", "#c07a12"),
        )
    )
    agent = html.escape(str(header.get("agent")))
    run_id = html.escape(str(header.get("run_id")))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>agentkit trace · {agent}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<header><h1>{agent} · run {run_id}</h1>"
        f'<div class="meta">{html.escape(meta)}</div><div class="legend">{legend}</div>'
        f"{_plan_html(trace)}</header>"
        '<main><div id="rows"></div><div id="detail"></div></main>'
        f'<script type="application/json" id="spans">{data}</script>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
