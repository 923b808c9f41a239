"""Regenerate the bundled trace ``trace.jsonl``: an AUTHORED run, not one captured from Moonshot.

A scripted responder (`scripted_kimi`) plays Kimi-K2 on agentkit's loopback fake
Kimi server, in Kimi's wire format. Every number it writes into the report comes from
the real query results it receives in the request (nothing is typed in by hand): the
narrative is a template, the figures are DuckDB's. The trace header says
``origin: "authored"``.

    python -m examples.report_agent.make_trace
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from agentkit_tools import DataWorkspace, Workspace

from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import TraceWriter

from .agent import PROMPT, build_agent, prepare_data
from .story import report_markdown, summary

__all__ = ["CHARTS", "MODEL_NAME", "QUERIES", "TRACE", "record", "scripted_kimi"]

TRACE = Path(__file__).with_name("trace.jsonl")
MODEL_NAME = "kimi-k2-0905-preview"

_LATE = "round(100.0 * avg(CASE WHEN dep_delay > 15 THEN 1 ELSE 0 END), 1) AS pct_late"
_F_LATE = _LATE.replace("dep_delay", "f.dep_delay")
_F_CANCELLED = "round(100.0 * count(*) FILTER (WHERE f.dep_time IS NULL) / count(*), 2) AS pct_cancelled"

#: The questions asked in parallel, in order: overall, by month, by hour, by airline, by airport.
#: (Constant SQL text: nothing from outside is spliced into it.)
QUERIES = {
    "overall": " ".join(
        [
            "SELECT count(*) AS flights,",
            "round(100.0 * count(*) FILTER (WHERE dep_time IS NULL) / count(*), 2) AS pct_cancelled,",
            "round(avg(dep_delay), 1) AS avg_dep_delay, round(median(dep_delay), 1) AS median_dep_delay,",
            "round(100.0 * avg(CASE WHEN dep_delay > 15 THEN 1 ELSE 0 END)",
            "FILTER (WHERE dep_delay IS NOT NULL), 1) AS pct_late,",
            "round(100.0 * avg(CASE WHEN dep_delay > 60 THEN 1 ELSE 0 END)",
            "FILTER (WHERE dep_delay IS NOT NULL), 1) AS pct_late_hour",
            "FROM flights",
        ]
    ),
    "month": " ".join(
        [
            "SELECT month, count(*) AS flights, round(avg(dep_delay), 1) AS avg_dep_delay,",
            _LATE,
            "FROM flights WHERE dep_delay IS NOT NULL GROUP BY month ORDER BY month",
        ]
    ),
    "hour": " ".join(
        [
            "SELECT hour, count(*) AS flights, round(avg(dep_delay), 1) AS avg_dep_delay,",
            _LATE,
            "FROM flights WHERE dep_delay IS NOT NULL AND hour BETWEEN 5 AND 23 GROUP BY hour ORDER BY hour",
        ]
    ),
    "airline": " ".join(
        [
            "SELECT a.name AS airline, count(*) AS flights, round(avg(f.dep_delay), 1) AS avg_dep_delay,",
            _F_CANCELLED,
            "FROM flights f JOIN airlines a USING (carrier)",
            "GROUP BY a.name HAVING count(*) >= 1000 ORDER BY avg_dep_delay DESC",
        ]
    ),
    "airport": " ".join(
        [
            "SELECT p.name AS airport, f.origin, count(*) AS flights,",
            "round(avg(f.dep_delay), 1) AS avg_dep_delay,",
            f"{_F_LATE}, {_F_CANCELLED}",
            "FROM flights f JOIN airports p ON p.faa = f.origin",
            "GROUP BY p.name, f.origin ORDER BY avg_dep_delay DESC",
        ]
    ),
}

#: The charts drawn in parallel: (filename, arguments of make_chart).
CHARTS: dict[str, dict[str, Any]] = {
    "by_hour": {
        "sql": QUERIES["hour"],
        "kind": "bar",
        "x": "hour",
        "y": ["pct_late"],
        "title": "Share of departures more than 15 minutes late, by scheduled hour",
        "xlabel": "Scheduled departure hour (local time)",
        "ylabel": "% of departures late",
    },
    "by_month": {
        # One quantity on the axis, and month names (the % late is in the report's table).
        "sql": " ".join(
            [
                "SELECT strftime(make_date(2013, month, 1), '%b') AS month_name,",
                "round(avg(dep_delay), 1) AS avg_dep_delay",
                "FROM flights WHERE dep_delay IS NOT NULL GROUP BY month ORDER BY month",
            ]
        ),
        "kind": "line",
        "x": "month_name",
        "y": ["avg_dep_delay"],
        "title": "Mean departure delay through 2013, by month",
        "xlabel": "Month (2013)",
        "ylabel": "Mean departure delay (minutes)",
    },
    "by_airline": {
        "sql": QUERIES["airline"],
        "kind": "barh",
        "x": "airline",
        "y": ["avg_dep_delay"],
        "title": "Mean departure delay by airline (1,000+ flights)",
        "xlabel": "",
        "ylabel": "Mean departure delay (minutes)",
    },
    "by_airport": {
        "sql": QUERIES["airport"],
        "kind": "bar",
        "x": "origin",
        "y": ["pct_late"],
        "title": "Share of departures more than 15 minutes late at New York's three airports",
        "xlabel": "Airport",
        "ylabel": "% of departures late",
    },
}


def _results(messages: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for message in messages:
        if message["role"] == "tool":
            content = message["content"]
            out.setdefault(message["name"], []).append(
                json.loads(content) if content[:1] in "[{" else content
            )
    return out


def _table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A run_sql result as a list of row dicts."""
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def scripted_kimi(body: dict[str, Any]) -> Reply:
    """Play Kimi-K2 for the report request, one step per turn, from the tool results received."""
    results = _results(body["messages"])
    if "load_table" not in results:
        names = ("flights", "airlines", "airports")
        loads = [("load_table", {"path": f"data/{n}.csv", "table": n}) for n in names]
        return Reply.tool_calls(*loads, content="Loading the three files into DuckDB.")
    if "describe_table" not in results:
        return Reply.tool_calls(("describe_table", {"table": "flights"}))
    if "run_sql" not in results:
        calls = [("run_sql", {"sql": sql}) for sql in QUERIES.values()]
        return Reply.tool_calls(*calls, content="Five independent questions; asking them at once.")
    tables = {name: _table(result) for name, result in zip(QUERIES, results["run_sql"], strict=True)}
    if "make_chart" not in results:
        charts = [("make_chart", {**args, "filename": name}) for name, args in CHARTS.items()]
        return Reply.tool_calls(*charts)
    if "write_report" not in results:
        title = "What delays flights out of New York: 2013 in 336,776 departures"
        markdown = report_markdown(title, tables, {n: f"charts/{n}.png" for n in CHARTS})
        return Reply.tool_calls(("write_report", {"name": "report", "title": title, "markdown": markdown}))
    return Reply.text(summary(tables, results["write_report"][0]))


async def record(path: Path = TRACE) -> None:
    """Run the agent against the scripted fake Kimi server and write the trace to ``path``."""
    with tempfile.TemporaryDirectory() as folder, FakeKimiServer(scripted_kimi) as server:
        data = DataWorkspace(Workspace(folder))
        prepare_data(data)
        model = KimiModel(MODEL_NAME, base_url=server.base_url, api_key="offline-authoring")
        await build_agent(model, data=data).run(PROMPT, trace=TraceWriter(path, origin="authored"))
        await model.aclose()
        data.close()


if __name__ == "__main__":
    anyio.run(record)
    print(f"wrote {TRACE}", file=sys.stderr)
