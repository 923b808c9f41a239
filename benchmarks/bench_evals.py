"""Eval benchmark: a 200-case eval, 8 runs at once, against the loopback fake Kimi server.

``python benchmarks/bench_evals.py [--cases 200] [--concurrency 8] [--latency-ms 50]``

The fake server runs in its own process (``python -m agentkit.testing serve``) and plays a
weather agent's model: each case asks for one tool call, then answers from its result (two
model calls per run), each reply after ``--latency-ms``. The eval process runs the real
agent (``KimiModel`` over HTTP, the tool, the loop), writes a results line and a trace per
run, scores each run with three evaluators, and builds the report and its HTML page. Then it
measures a resumed rerun (every run already stored: nothing is called) and a re-scoring of
the stored runs.

Printed and written to ``benchmarks/results/bench_evals.json``: wall time, runs per second,
the eval process's CPU seconds, the report's pass rate and latency percentiles, the time to
resume and to re-score, and the results file's size.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks.*`` importable
    sys.path.insert(0, str(ROOT))

from agentkit import Agent, tool  # noqa: E402 - needs the sys.path line above
from agentkit.evals import Case, Contains, Dataset, LatencyWithin, ToolCalled, rescore, run_eval  # noqa: E402
from agentkit.evals.html import render_report_html  # noqa: E402
from agentkit.models import KimiModel  # noqa: E402
from agentkit.testing import Reply  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_evals.json"
LATENCY_ENV = "AGENTKIT_BENCH_EVAL_LATENCY_MS"


def weather_kimi(body: dict[str, Any]) -> Reply:
    """Ask for the city's weather, then answer from the tool's result (latency from the environment)."""
    latency = float(os.environ.get(LATENCY_ENV, "0")) / 1000
    messages = body["messages"]
    results = [m for m in messages if m["role"] == "tool"]
    if results:
        return Reply.text(f"Today: {results[-1]['content']}.", latency_s=latency)
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    found = re.search(r"in (\w+)", prompt)
    return Reply.tool_calls(("weather", {"city": found[1] if found else "?"}), latency_s=latency)


@tool
async def weather(city: str) -> str:
    """Today's weather.

    Args:
        city: City name.
    """
    return f"{city}: sunny, 21 C"


def dataset(cases: int) -> Dataset:
    """``cases`` weather questions, each checked for its city in the answer and the tool call."""
    return Dataset(
        name="weather-bench",
        evaluators=[Contains(), LatencyWithin(max=30)],
        cases=[
            Case(
                name=f"city{i:04d}",
                prompt=f"What is the weather in City{i:04d}?",
                expected_output=f"City{i:04d}",
                checks=[ToolCalled(tool="weather", arguments={"city": f"City{i:04d}"})],
            )
            for i in range(cases)
        ],
    )


def _serve(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, LATENCY_ENV: str(latency_ms), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit.testing",
            "serve",
            "--script-module",
            "benchmarks.bench_evals:weather_kimi",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(cases: int, concurrency: int, latency_ms: float, folder: Path) -> dict[str, Any]:
    """Run the eval, resume it, re-score it; return the figures."""
    process, base_url = _serve(latency_ms)
    model = KimiModel("kimi-k2-0905-preview", base_url=base_url, api_key="bench")
    agent = Agent(model, instructions="Answer with the weather.", tools=[weather], name="weather")
    data, results = dataset(cases), folder / "bench.jsonl"
    try:
        cpu, started = _cpu(), time.perf_counter()
        report = await run_eval(data, agent, name="bench", results=results, concurrency=concurrency)
        wall, cpu_used = time.perf_counter() - started, _cpu() - cpu
        started = time.perf_counter()
        page = render_report_html(report)
        html_s = time.perf_counter() - started
        started = time.perf_counter()
        resumed = await run_eval(data, agent, name="bench", results=results, concurrency=concurrency)
        resume_s = time.perf_counter() - started
        started = time.perf_counter()
        rescored = await rescore(data, results)
        rescore_s = time.perf_counter() - started
    finally:
        await model.aclose()
        process.terminate()
        process.wait(timeout=10)
    s = report.summary
    return {
        "cases": cases,
        "concurrency": concurrency,
        "server_latency_ms": latency_ms,
        "runs": s.runs,
        "failed_runs": s.failed_runs,
        "pass_rate": s.pass_rate,
        "wall_s": round(wall, 3),
        "runs_per_s": round(s.runs / wall, 1),
        "serial_model_wait_s": round(2 * cases * latency_ms / 1000, 1),
        "eval_process_cpu_s": round(cpu_used, 3),
        "cpu_ms_per_run": round(1000 * cpu_used / s.runs, 2),
        "latency_p50_s": round(s.latency_p50_s, 3),
        "latency_p95_s": round(s.latency_p95_s, 3),
        "traces": len(list((folder / "bench.traces").glob("*.jsonl"))),
        "results_file_kb": round(results.stat().st_size / 1024, 1),
        "html_kb": round(len(page) / 1024, 1),
        "html_s": round(html_s, 3),
        "resumed_runs": resumed.summary.runs,
        "resume_s": round(resume_s, 3),
        "rescored_pass_rate": rescored.summary.pass_rate,
        "rescore_s": round(rescore_s, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the options, run the benchmark, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = anyio.run(measure, args.cases, args.concurrency, args.latency_ms, Path(folder))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2) + b"\n")
    return figures


if __name__ == "__main__":
    main()
