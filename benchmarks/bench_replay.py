"""Tracing and replay benchmarks: what the JSONL trace writer costs, and how fast a replay runs.

``python benchmarks/bench_replay.py [--reps 5] [--runs 40] [--turns 1000] [--instructions]``

1. **Tracing overhead.** The benchmark harness's CPU workload (``benchmarks/workload.py``:
   4 turns, 12 parallel tool calls per run) against the fake Kimi server in its own process
   (target: traced <= 1.10 x plain CPU per turn). Three measurements:

   - *Interleaved in one process* (the figure to quote): one agent runs the workload in
     ``--blocks`` short blocks of ``--block-runs`` runs, cycling through the variants (plain;
     a new trace file per run; consecutive runs on one open trace file; an in-memory trace,
     which isolates the user-space work) and reversing the order every block. Each variant's
     CPU per turn is compared with the plain block next to it, so drift of the machine's speed
     cancels; a second plain variant ("plain again") shows how precise the method is.
   - *Separate processes*: the plain client and the traced client (a trace file per run),
     interleaved ``--reps`` times, as the harness measures every client. Process-to-process
     noise on a shared machine is about 15 %, so this figure is reported, not relied on.
   - *The writer alone*: recorded events replayed into fresh writers.
   With ``--instructions`` (needs ``valgrind``), the same two clients also run under
   callgrind at two run counts; the difference, divided by the extra turns, is each client's
   instructions per turn: a deterministic ratio that machine noise does not move.
2. **Replay speed.** Builds a ``--turns``-turn trace in-process (origin ``authored``: a
   ScriptedModel plays the model), then times replaying it in strict mode with ReplayModel
   (target: 1,000 turns in under 1 s).

Results are printed and written to ``benchmarks/results/bench_replay.json``.

Client mode (used by the separate-process measurement):
``python -m benchmarks.bench_replay client --base-url URL ...``.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import anyio
import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks.*`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import ClientOptions, RunOnce  # noqa: E402 - needs the sys.path line above
from benchmarks._harness import main as harness_main  # noqa: E402
from benchmarks.workload import (  # noqa: E402
    CPU_TOOLS,
    INSTRUCTIONS,
    MODEL_NAME,
    PROMPT,
    TURNS_PER_RUN,
)

RESULTS = ROOT / "benchmarks" / "results" / "bench_replay.json"
OVERHEAD_TARGET = 1.10
REPLAY_TARGET_S = 1.0


@asynccontextmanager
async def traced_runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """The plain agentkit client, each run recorded to its own JSONL trace file."""
    from agentkit import Agent  # noqa: PLC0415 - the harness imports clients lazily
    from agentkit.models import KimiModel  # noqa: PLC0415

    model = KimiModel(MODEL_NAME, base_url=options.base_url, api_key="bench-key")
    agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS)
    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-trace-"))
    count = 0

    async def complete() -> tuple[int, str]:
        nonlocal count
        count += 1
        # A new file per run, as AGENTKIT_TRACE_DIR does (truncating an old one costs more).
        result = await agent.run(PROMPT, trace=folder / f"run-{count}.jsonl")
        return result.turns, result.output

    try:
        yield complete
    finally:
        await model.aclose()


async def _capture_events(base_url: str, runs: int) -> tuple[list[list[Any]], int]:
    """Run the workload ``runs`` times, keeping every run's events (for `writer_cost`)."""
    from agentkit import Agent  # noqa: PLC0415
    from agentkit.hooks import RunHooks  # noqa: PLC0415
    from agentkit.models import KimiModel  # noqa: PLC0415

    captured: list[list[Any]] = []

    class Keep(RunHooks):
        def on_event(self, event: Any) -> None:
            captured[-1].append(event)

    turns = 0
    async with KimiModel(MODEL_NAME, base_url=base_url, api_key="bench-key") as model:
        agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS, hooks=[Keep()])
        for _ in range(runs):
            captured.append([])
            turns += (await agent.run(PROMPT)).turns
    return captured, turns


def writer_cost(base_url: str, runs: int, reps: int) -> float:
    """CPU ms per turn the JSONL writer itself takes: recorded events replayed into fresh writers."""
    from agentkit.tracing import TraceWriter  # noqa: PLC0415

    events, turns = anyio.run(_capture_events, base_url, runs)
    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-writer-"))
    samples = []
    for rep in range(reps):
        started = time.process_time()
        for index, run in enumerate(events):
            writer = TraceWriter(folder / f"{rep}-{index}.jsonl")
            for event in run:
                writer.on_event(event)
        samples.append((time.process_time() - started) * 1000 / turns)
    return statistics.median(samples)


#: Variants of the interleaved measurement: what each run is given.
VARIANTS: Final = ("plain", "plain again", "trace file per run", "one trace file", "trace in memory")


async def _interleaved(base_url: str, blocks: int, block_runs: int) -> dict[str, list[float]]:
    """CPU ms per turn of each variant, block by block (see the module docstring)."""
    from agentkit import Agent  # noqa: PLC0415
    from agentkit.models import KimiModel  # noqa: PLC0415
    from agentkit.tracing import TraceWriter  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-inproc-"))
    numbers = itertools.count()
    with (folder / "all-runs.jsonl").open("wb", buffering=0) as stream:
        shared = TraceWriter(stream, origin="authored")

        def options(variant: str) -> dict[str, Any]:
            if variant == "trace file per run":
                return {"trace": folder / f"run-{next(numbers)}.jsonl"}
            if variant == "one trace file":
                return {"trace": shared}
            if variant == "trace in memory":
                return {"trace": TraceWriter(io.BytesIO())}
            return {}

        async with KimiModel(MODEL_NAME, base_url=base_url, api_key="bench-key") as model:
            agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS)
            for variant in VARIANTS:  # warm-up: connections, caches, first-call imports
                for _ in range(3):
                    await agent.run(PROMPT, **options(variant))
            samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for block in range(blocks):
                for variant in VARIANTS if block % 2 == 0 else VARIANTS[::-1]:
                    turns = 0
                    started = time.process_time()
                    for _ in range(block_runs):
                        result = await agent.run(PROMPT, **options(variant))
                        turns += result.turns
                    samples[variant].append((time.process_time() - started) * 1000 / turns)
    return samples


def overhead_interleaved(blocks: int, block_runs: int) -> dict[str, Any]:
    """Each variant's median CPU per turn and its median ratio to the plain block beside it."""
    from benchmarks.run import fake_server  # noqa: PLC0415 - only part 1 needs it

    with fake_server() as base_url:
        samples = anyio.run(_interleaved, base_url, blocks, block_runs)
    plain = samples["plain"]
    return {
        variant: {
            "cpu_ms_per_turn": statistics.median(values),
            "ratio": statistics.median(v / p for v, p in zip(values, plain, strict=True)),
        }
        for variant, values in samples.items()
    }


def overhead(reps: int, runs: int) -> dict[str, Any]:
    """Measure plain vs traced CPU per turn (interleaved client processes, medians)."""
    from benchmarks.run import fake_server, run_json  # noqa: PLC0415 - only part 1 needs it

    python = Path(sys.executable)
    args = ["--runs", str(runs), "--warmup", "5"]
    plain: list[float] = []
    traced: list[float] = []
    with fake_server() as base_url:
        for _ in range(reps):
            for module, into in (("benchmarks.client_agentkit", plain), ("benchmarks.bench_replay", traced)):
                extra = ["client"] if module == "benchmarks.bench_replay" else []
                record = run_json(python, module, [*extra, "--base-url", base_url, *args])
                if record["wrong_outputs"]:
                    raise RuntimeError(f"{module}: {record['wrong_outputs']} wrong outputs")
                into.append(float(record["cpu_ms_per_turn"]))
        writer_ms = writer_cost(base_url, runs, reps)
    plain_ms, traced_ms = statistics.median(plain), statistics.median(traced)
    return {
        "writer_cpu_ms_per_turn": writer_ms,
        "writer_ratio": (plain_ms + writer_ms) / plain_ms,
        "plain_cpu_ms_per_turn": plain_ms,
        "traced_cpu_ms_per_turn": traced_ms,
        "ratio": traced_ms / plain_ms,
        # each traced process against the plain one run just before it: drift cancels out
        "paired_ratio_median": statistics.median(t / p for p, t in zip(plain, traced, strict=True)),
        "plain_all": plain,
        "traced_all": traced,
    }


#: The two clients of part 1, as ``python -m`` arguments.
_CLIENTS: Final = {
    "plain": ["benchmarks.client_agentkit"],
    "traced": ["benchmarks.bench_replay", "client"],
}


def instructions(small: int = 10, large: int = 60) -> dict[str, Any]:
    """Instructions per turn of each client under valgrind callgrind (deterministic).

    Each client runs ``small`` and ``large`` measured runs; start-up, imports and warm-up
    cancel out in the difference, which is divided by the extra turns.
    """
    if shutil.which("valgrind") is None:
        raise RuntimeError("--instructions needs valgrind (Debian: apt install valgrind)")
    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-callgrind-"))
    per_turn: dict[str, float] = {}
    from benchmarks.run import fake_server  # noqa: PLC0415 - only part 1 needs it

    with fake_server() as base_url:
        for name, module in _CLIENTS.items():
            counts = [
                _callgrind(folder / f"{name}-{runs}.out", module, base_url, runs) for runs in (small, large)
            ]
            per_turn[name] = (counts[1] - counts[0]) / ((large - small) * TURNS_PER_RUN)
    return {
        "plain_instructions_per_turn": round(per_turn["plain"]),
        "traced_instructions_per_turn": round(per_turn["traced"]),
        "ratio": per_turn["traced"] / per_turn["plain"],
    }


def _callgrind(out: Path, module: list[str], base_url: str, runs: int) -> int:
    """Run one client under callgrind; return the instructions it executed."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m"]
    command += [*module, "--base-url", base_url, "--runs", str(runs), "--warmup", "5"]
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=1800)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out}")


def replay_speed(turns: int) -> dict[str, Any]:
    """Record a ``turns``-turn run (one tool call a turn), then time its strict replay."""
    from agentkit import Agent, tool  # noqa: PLC0415
    from agentkit.messages import AssistantMessage, ToolCall  # noqa: PLC0415
    from agentkit.models import ReplayModel  # noqa: PLC0415
    from agentkit.models.function import ScriptedModel  # noqa: PLC0415
    from agentkit.tracing import TraceWriter  # noqa: PLC0415

    @tool
    async def step(n: int) -> int:
        """Next step.

        Args:
            n: The step number.
        """
        return n + 1

    script: list[Any] = [
        AssistantMessage(
            tool_calls=(ToolCall(id=f"functions.step:{i}", name="step", arguments=f'{{"n":{i}}}'),)
        )
        for i in range(turns - 1)
    ]
    script.append("done")
    path = Path(tempfile.mkdtemp(prefix="agentkit-bench-replay-")) / "long.jsonl"

    def agent(model: Any) -> Any:
        return Agent(model, instructions="Count.", tools=[step], max_turns=turns + 1)

    started = time.perf_counter()
    agent(ScriptedModel(script)).run_sync("go", trace=TraceWriter(path, origin="authored"))
    record_s = time.perf_counter() - started
    started = time.perf_counter()
    replay = ReplayModel.from_trace(path)
    load_s = time.perf_counter() - started
    result = agent(replay).run_sync("go")
    replay.finish()
    total_s = time.perf_counter() - started
    assert result.turns == turns
    return {
        "turns": turns,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "record_s": round(record_s, 3),
        "load_s": round(load_s, 3),
        "replay_s": round(total_s, 3),
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--blocks", type=int, default=150, help="blocks of the in-process measurement")
    parser.add_argument("--block-runs", type=int, default=3, help="runs per block and variant")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions of each client")
    parser.add_argument("--runs", type=int, default=40, help="measured runs per client process")
    parser.add_argument("--turns", type=int, default=1000, help="turns in the replayed trace")
    parser.add_argument("--skip-overhead", action="store_true", help="only measure replay speed")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions per turn under valgrind"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements and print a short report."""
    args = _parse(argv)
    speed = replay_speed(args.turns)
    report: dict[str, Any] = {"python": sys.version.split()[0], "load_average_at_start": os.getloadavg()}
    report["replay"] = speed
    ok = speed["replay_s"] < REPLAY_TARGET_S
    print(
        f"replay: {speed['turns']} turns in {speed['replay_s']:.3f} s (load {speed['load_s']:.3f} s, "
        f"file {speed['file_mb']} MB, recording took {speed['record_s']:.3f} s)"
        f" -> {'OK' if ok else 'OVER'} target < {REPLAY_TARGET_S:.0f} s"
    )
    if not args.skip_overhead:
        inproc = overhead_interleaved(args.blocks, args.block_runs)
        print(f"tracing overhead, interleaved in one process ({args.blocks} x {args.block_runs} runs):")
        for variant, figures in inproc.items():
            cpu, ratio = figures["cpu_ms_per_turn"], figures["ratio"]
            print(f"  {variant:20s} {cpu:.3f} ms CPU/turn, ratio to plain {ratio:.3f}")
        report["overhead_interleaved"] = inproc
        ok = ok and inproc["trace file per run"]["ratio"] <= OVERHEAD_TARGET
        cost = overhead(args.reps, args.runs)
        within = cost["ratio"] <= OVERHEAD_TARGET
        print(
            f"separate processes: plain {cost['plain_cpu_ms_per_turn']:.3f} ms CPU/turn, traced "
            f"{cost['traced_cpu_ms_per_turn']:.3f} ms CPU/turn, ratio {cost['ratio']:.3f}"
            f" ({'within' if within else 'over'} {OVERHEAD_TARGET:.2f}; noisy, reported only)"
        )
        print(f"  per rep: plain {cost['plain_all']}  traced {cost['traced_all']}")
        print(f"  median of per-rep traced/plain ratios: {cost['paired_ratio_median']:.3f}")
        print(
            f"  the writer alone (recorded events replayed into it): {cost['writer_cpu_ms_per_turn']:.3f} ms"
            f" CPU/turn -> (plain + writer) / plain = {cost['writer_ratio']:.3f}"
        )
        report["overhead"] = cost
    if args.instructions:
        counted = instructions()
        print(
            f"instructions per turn (callgrind): plain {counted['plain_instructions_per_turn']:,}, traced "
            f"{counted['traced_instructions_per_turn']:,}, ratio {counted['ratio']:.3f}"
            f" -> {'OK' if counted['ratio'] <= OVERHEAD_TARGET else 'OVER'} target <= {OVERHEAD_TARGET:.2f}"
        )
        ok = ok and counted["ratio"] <= OVERHEAD_TARGET
        report["instructions"] = counted
    report["load_average_at_end"] = os.getloadavg()  # other work on the machine skews CPU figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        harness_main("agentkit_traced", traced_runner, sys.argv[2:])
    else:
        sys.exit(main())
