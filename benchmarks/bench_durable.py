"""Durable runs and scale: three measurements, each printed as one JSON line.

``python -m benchmarks.bench_durable inproc``: 1,000 agent runs at once in one process
against the loopback fake Kimi server (its own process), agentkit vs the raw-SDK loop of
``client_raw_create`` (the workload of ``workload.py``: 4 turns and 12 tool calls per run),
each client process measured by ``_harness.measure``. Both send through one
connection pool of ``--connections`` (default 100) connections: 1,000 sockets at once
overflow the fake server's listen backlog, for either client. Repetitions interleave.

``python -m benchmarks.bench_durable overhead [--database URL]``: the cost of durability per
step. The same agent (a function model: no network, 4 model calls + 12 tool calls = 16
steps per run) runs N times plainly and N times through `DurableRunner`; the
difference per step is DBOS checkpointing on that system database.

``python -m benchmarks.bench_durable fanout [--database URL] [--runs 300] [--workers 3]``:
``agentkit batch`` over worker processes against the fake server (its own process):
throughput from the first run queued to the last run finished (see also bench_scale).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import openai
import orjson

from agentkit import Agent, tool
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage
from agentkit.models import KimiModel
from agentkit.models.abstract import ModelRequest
from agentkit.models.function import FunctionModel
from benchmarks import client_raw_create as raw_loop
from benchmarks._harness import ClientOptions, RunOnce
from benchmarks._harness import main as harness_main
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT

URL_ENV = "AGENTKIT_BENCH_KIMI_URL"
STEPS_PER_RUN = 16


def workload_agent() -> Agent[str]:
    """The benchmark workload's agent against the server in ``AGENTKIT_BENCH_KIMI_URL`` (for workers)."""
    model = KimiModel(MODEL_NAME, base_url=os.environ[URL_ENV], api_key="bench-key")
    return Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS, name="bench")


@contextmanager
def fake_server() -> Iterator[str]:
    """The fake Kimi server playing the workload, in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit.testing",
            "serve",
            "--script-module",
            "benchmarks.workload:responder",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def _pool(connections: int) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(limits=httpx2.Limits(max_connections=connections), timeout=600.0)


@asynccontextmanager
async def _agentkit_runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    async with _pool(_CONNECTIONS) as pool:
        model = KimiModel(MODEL_NAME, base_url=options.base_url, api_key="bench-key", http_client=pool)
        agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS)

        async def run_once() -> tuple[int, str]:
            result = await agent.run(PROMPT)
            return result.turns, result.output

        yield run_once


@asynccontextmanager
async def _raw_runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    async with _pool(_CONNECTIONS) as pool:
        client = openai.AsyncOpenAI(
            base_url=options.base_url, api_key="bench-key", max_retries=0, http_client=pool
        )

        async def run_once() -> tuple[int, str]:
            messages: list[Any] = [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": PROMPT},
            ]
            for turn in range(1, 21):
                content, calls = await raw_loop._complete(client, messages)
                if not calls:
                    return turn, content or ""
                messages.append({"role": "assistant", "content": content, "tool_calls": calls})
                messages.extend(await raw_loop._run_tools(calls))
            raise RuntimeError("no answer after 20 turns")

        yield run_once


_CONNECTIONS = int(os.environ.get("AGENTKIT_BENCH_CONNECTIONS", "100"))
_RUNNERS = {"agentkit": _agentkit_runner, "raw_create": _raw_runner}


def _client(name: str, base_url: str, runs: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_durable", "client", name, "--base-url", base_url]
    command += ["--runs", str(runs), "--concurrency", str(runs), "--warmup", "20"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


def inproc(runs: int, repeats: int) -> dict[str, Any]:
    """Runs/s of ``runs`` concurrent runs, agentkit vs raw SDK, repetitions interleaved."""
    walls: dict[str, list[float]] = {"agentkit": [], "raw_create": []}
    errors: dict[str, int] = {"agentkit": 0, "raw_create": 0}
    with fake_server() as base_url:
        for _ in range(repeats):
            for name, wall in walls.items():
                result = _client(name, base_url, runs)
                wall.append(result["wall_s"])
                errors[name] += result["wrong_outputs"] + (runs - result["runs"])
    rates = {name: runs / statistics.median(w) for name, w in walls.items()}
    return {
        "bench": "inproc",
        "runs_at_once": runs,
        "repeats": repeats,
        "runs_per_s": {k: round(v, 1) for k, v in rates.items()},
        "wall_s": walls,
        "errors": errors,
        "ratio_agentkit_vs_raw": round(rates["agentkit"] / rates["raw_create"], 3),
    }


@tool
async def noop(i: int) -> int:
    """Return the number.

    Args:
        i: any number.
    """
    return i


def _play(request: ModelRequest) -> AssistantMessage | str:
    done = sum(isinstance(m, ToolMessage) for m in request.messages)
    if done >= 12:
        return "done"
    calls = tuple(
        ToolCall(id=f"functions.noop:{done + k}", name="noop", arguments=f'{{"i": {k}}}') for k in range(4)
    )
    return AssistantMessage(content=None, tool_calls=calls)


async def _overhead(database: str, runs: int) -> dict[str, Any]:
    from agentkit.durable import DurableRequest, DurableRunner, register_agent  # noqa: PLC0415

    agent = Agent(FunctionModel(_play), tools=[noop], name="overhead")
    register_agent("overhead", agent)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        await agent.run("go")
    plain, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    async with DurableRunner(database, executor_id=f"bench-{uuid.uuid4().hex[:6]}") as runner:
        await runner.run(DurableRequest(agent="overhead", prompt="warm-up"))
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            record = await runner.run(DurableRequest(agent="overhead", prompt="go"))
            assert record.ok, record.error
        durable, durable_cpu = time.perf_counter() - started, time.process_time() - cpu
    steps = runs * STEPS_PER_RUN
    return {
        "bench": "overhead",
        "database": database.split("://", maxsplit=1)[0],
        "runs": runs,
        "steps": steps,
        "plain_ms_per_run": round(plain * 1000 / runs, 2),
        "durable_ms_per_run": round(durable * 1000 / runs, 2),
        "overhead_ms_per_step": round((durable - plain) * 1000 / steps, 3),
        "plain_cpu_ms_per_run": round(plain_cpu * 1000 / runs, 2),
        "durable_cpu_ms_per_run": round(durable_cpu * 1000 / runs, 2),
        "overhead_cpu_ms_per_step": round((durable_cpu - plain_cpu) * 1000 / steps, 3),
    }


def fanout(database: str | None, runs: int, workers: int, concurrency: int) -> dict[str, Any]:
    """Throughput of ``agentkit batch`` over ``workers`` processes."""
    with tempfile.TemporaryDirectory() as tmp, fake_server() as base_url:
        tasks = Path(tmp) / "tasks.jsonl"
        tasks.write_bytes(b"".join(orjson.dumps({"id": i, "prompt": "Paris?"}) + b"\n" for i in range(runs)))
        command = [str(Path(sys.executable).with_name("agentkit")), "batch", str(tasks)]
        command += ["--agent", "benchmarks.bench_durable:workload_agent", "--workers", str(workers)]
        command += ["--concurrency", str(concurrency), "--out", str(Path(tmp) / "out"), "--no-traces"]
        if database:
            command += ["--database", database]
        env = {**os.environ, URL_ENV: base_url}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    summary = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    found = re.search(r"(\d+) ok, (\d+) failed in ([\d.]+) s; \d+ ran now \(([\d.]+) runs/s", summary)
    if found is None:
        raise RuntimeError(f"agentkit batch failed: {done.stderr[-2000:]}")
    return {
        "bench": "fanout",
        "database": (database or "sqlite").split("://")[0],
        "runs": runs,
        "workers": workers,
        "worker_concurrency": concurrency,
        "ok": int(found[1]),
        "failed": int(found[2]),
        "total_s": float(found[3]),
        "runs_per_s": float(found[4]),
    }


def main() -> None:
    """Run the chosen measurement and print its JSON line."""
    if sys.argv[1:2] == ["client"]:  # one contender of ``inproc``, in its own process
        harness_main(sys.argv[2], _RUNNERS[sys.argv[2]], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bench", choices=("inproc", "overhead", "fanout"))
    parser.add_argument("--database", default=None, help="system database URL (default: a temporary SQLite)")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="runs per worker at once (fanout)")
    args = parser.parse_args()
    if args.bench == "inproc":
        report = inproc(args.runs or 1000, args.repeats)
    elif args.bench == "overhead":
        with tempfile.TemporaryDirectory() as tmp:
            database = args.database or f"sqlite:///{Path(tmp) / 'runs.sqlite'}"
            report = anyio.run(_overhead, database, args.runs or 50)
    else:
        report = fanout(args.database, args.runs or 300, args.workers, args.concurrency)
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


if __name__ == "__main__":
    main()
