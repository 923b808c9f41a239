"""What every benchmark client shares: options, warm-up, measuring, and the one JSON line it prints.

A client supplies an async context manager yielding ``run_once() -> (turns, output)``
(one whole agent run). The harness warms up, then measures the client process
alone: ``resource.getrusage(RUSAGE_SELF)`` user + sys CPU (all threads) over the
measured runs, their wall time, and ``ru_maxrss``. Runs go one at a time, or
``--concurrency`` at once in an anyio task group.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import orjson

from benchmarks.workload import EXPECTED_OUTPUT

__all__ = ["ClientOptions", "Mode", "RunOnce", "Runner", "main", "measure"]

#: How the client calls the model: whole answers, or streamed deltas.
Mode = Literal["complete", "stream"]
#: One agent run: returns how many model turns it took and its final text.
RunOnce = Callable[[], Awaitable[tuple[int, str]]]
#: Builds a client for the options and yields its ``run_once``; cleans up on exit.
Runner = Callable[["ClientOptions"], AbstractAsyncContextManager[RunOnce]]


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientOptions:
    """A client process's command-line options."""

    base_url: str
    mode: Mode
    runs: int
    warmup: int
    concurrency: int


def _parse(argv: list[str] | None) -> ClientOptions:
    parser = argparse.ArgumentParser(description="Run the benchmark workload and print one JSON line.")
    parser.add_argument(
        "--base-url", required=True, help="the fake Kimi server, e.g. http://127.0.0.1:PORT/v1"
    )
    parser.add_argument("--mode", choices=("complete", "stream"), default="complete")
    parser.add_argument("--runs", type=int, default=50, help="measured agent runs")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured runs first")
    parser.add_argument("--concurrency", type=int, default=1, help="runs in flight at once")
    ns = parser.parse_args(argv)
    return ClientOptions(
        base_url=ns.base_url, mode=ns.mode, runs=ns.runs, warmup=ns.warmup, concurrency=max(1, ns.concurrency)
    )


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run_all(run_once: RunOnce, runs: int, concurrency: int) -> list[tuple[int, str]]:
    if concurrency == 1:
        return [await run_once() for _ in range(runs)]
    results: list[tuple[int, str]] = []
    limiter = anyio.CapacityLimiter(concurrency)

    async def one() -> None:
        async with limiter:
            results.append(await run_once())

    async with anyio.create_task_group() as tg:
        for _ in range(runs):
            tg.start_soon(one)
    return results


async def measure(client: str, runner: Runner, options: ClientOptions) -> dict[str, Any]:
    """Warm up, run the measured runs and return the client's measurements."""
    async with runner(options) as run_once:
        await _run_all(run_once, options.warmup, options.concurrency)
        cpu_before, wall_before = _cpu_s(), time.perf_counter()
        results = await _run_all(run_once, options.runs, options.concurrency)
        wall_s = time.perf_counter() - wall_before
        cpu_s = _cpu_s() - cpu_before
    turns = sum(t for t, _ in results)
    return {
        "client": client,
        "mode": options.mode,
        "runs": len(results),
        "concurrency": options.concurrency,
        "turns": turns,
        "turn_counts": {str(k): v for k, v in sorted(Counter(t for t, _ in results).items())},
        "wrong_outputs": sum(1 for _, out in results if out != EXPECTED_OUTPUT),
        "cpu_s": round(cpu_s, 6),
        "wall_s": round(wall_s, 6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_ms_per_turn": round(cpu_s * 1000 / turns, 4) if turns else None,
        "python": sys.version.split()[0],
    }


def main(client: str, runner: Runner, argv: list[str] | None = None) -> None:
    """Parse the options, measure on asyncio and write the JSON line to stdout."""
    options = _parse(argv)
    report = anyio.run(measure, client, runner, options, backend="asyncio")
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
