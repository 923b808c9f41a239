"""Run the concert-trip planner: offline (replaying the bundled trace) or live.

    python -m examples.trip_planner                        # offline, no key, no network
    python -m examples.trip_planner --live ["my prompt"]   # kimi-k2.6 or MOONSHOT_MODEL (MOONSHOT_API_KEY)
    python -m examples.trip_planner --base-url URL --model NAME ["my prompt"]   # any OpenAI-compatible server
    ... --record my-trace.jsonl                            # live runs: save a new trace

Offline, the model's answers come from ``trace.jsonl``, a run AUTHORED by us in
Kimi-K2's wire format (``make_trace.py`` regenerates it; its header says
``origin: authored``). The agent, the tools, the files, the calendar and the email
are real; the travel data is SAMPLE DATA.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from agentkit_tools import EmailSettings, Mailer, Workspace

from agentkit import Agent, RunResult
from agentkit.approval import Approver, Decision, approve_all, prompt_approver
from agentkit.messages import ToolCall
from agentkit.models import KimiModel, Model, OpenAICompatModel, ReplayModel
from agentkit.tracing import TraceWriter, read_trace

from .agent import TripRequest, build_agent
from .make_trace import TRACE
from .progress import ProgressPrinter, fresh_workspace, live_hint, run_main
from .travel import SampleTravelProvider

DEFAULT_OUT = Path("out/trip_planner")


async def run_demo(
    agent: Agent[str], prompt: str, *, approve: Approver, record: Path | None
) -> RunResult[str]:
    """Stream one run, printing turns, parallel tool calls and approvals as they happen."""
    printer = ProgressPrinter()
    stream = (
        agent.stream(prompt, approve=approve, trace=TraceWriter(record, origin="recorded"))
        if record
        else agent.stream(prompt, approve=approve)
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


def _report(result: RunResult[str], workspace: Workspace, mailer: Mailer, took: float, *, live: bool) -> None:
    root = workspace.root
    print("\n" + result.output + "\n")
    print(f"Itinerary:     {root / 'itinerary.md'}")
    print(f"Calendar file: {root / 'trip.ics'}")
    if mailer.settings is None:
        sent = sorted((root / mailer.outbox).glob("*.eml"))
        print(f"Sent email:    {sent[-1] if sent else '(none)'}  (local outbox: nothing left this machine)")
    else:
        print(f"Sent email:    through {mailer.settings.host}:{mailer.settings.port}")
    usage = result.usage
    print(
        f"\n{result.turns} turns, {usage.tool_calls} tool calls, {usage.input_tokens:,} input + "
        f"{usage.output_tokens:,} output tokens, ${result.cost_usd:.4f} at the model's prices, {took:.1f} s"
    )
    if not live:
        print("(offline: the token counts are those of the authored trace, estimated; nothing was billed)")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(description="The concert-trip planner demo.")
    parser.add_argument("prompt", nargs="?", help="your own request (live runs only)")
    parser.add_argument(
        "--live", action="store_true", help="call Kimi (kimi-k2.6 or MOONSHOT_MODEL; needs MOONSHOT_API_KEY)"
    )
    parser.add_argument("--base-url", help="any OpenAI-compatible server instead of Moonshot")
    parser.add_argument("--model", help="model name (default: MOONSHOT_MODEL or agentkit's Kimi default)")
    parser.add_argument("--record", type=Path, help="live runs: save the run as a trace file")
    parser.add_argument("--yes", action="store_true", help="approve every email without asking")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: out/trip_planner)"
    )
    args = parser.parse_args(argv)
    live = args.live or bool(args.base_url)
    workspace = fresh_workspace(args.out)
    if live:
        mailer = Mailer(workspace, EmailSettings.from_env(), sender="trip-planner@localhost")
        agent = build_agent(_model(args), workspace=workspace, mailer=mailer)
        prompt, approve = (
            args.prompt or TripRequest().prompt(),
            approve_all if args.yes else prompt_approver(),
        )
    else:
        if args.prompt or args.record:
            raise SystemExit("a prompt and --record need a live model: add --live (or --base-url)")
        header = read_trace(TRACE).header
        print(f"OFFLINE DEMO: replaying {TRACE.name} (origin: {header['origin']}: written by us in Kimi-K2's")
        print(
            "wire format, not captured from Moonshot). The agent, tools, files, calendar and email are real;"
        )
        print("concerts, flights, hotels and weather are SAMPLE DATA. Email goes to a local outbox, so the")
        print("approval it needs is given automatically here (live runs ask you, or pass --yes).")
        print(live_hint(__package__, "your request") + "\n")
        mailer = Mailer(workspace, sender="trip-planner@localhost")
        provider = SampleTravelProvider(latency_s=0.3)
        model = ReplayModel.from_trace(TRACE, strict=False)
        agent = build_agent(model, workspace=workspace, mailer=mailer, provider=provider)
        prompt, approve = TripRequest().prompt(), _offline_approver
    print(f"> {prompt}\n")
    started = time.perf_counter()
    result = anyio.run(lambda: run_demo(agent, prompt, approve=approve, record=args.record))
    _report(result, workspace, mailer, time.perf_counter() - started, live=live)
    return 0


def _offline_approver(call: ToolCall, arguments: dict[str, Any]) -> Decision:
    """Offline, the email only reaches the local outbox, so it is approved (the banner says so)."""
    return approve_all(call, arguments)


if __name__ == "__main__":
    sys.exit(run_main(main))
