"""PostgresMemory under load: 1,000 concurrent agent runs on one memory, by pool size.

``python benchmarks/bench_postgres_pool.py [--runs 1000] [--sizes 1,4,16] [--reps 3]``

Needs ``AGENTKIT_TEST_POSTGRES_DSN``. Each run is a two-turn agent run in its own session: a
``FunctionModel`` asks for one tool call, then answers; the session hook loads the session once
and appends each turn, so a run makes one load and two appends. All ``--runs`` runs start at once
on one ``PostgresMemory`` whose pool holds at most ``max_connections`` connections; ``1`` is the
former design (one connection serialising every operation). The sizes are measured interleaved,
``--reps`` times each, in one process; the report gives the median runs per second, the errors
and the peak number of server connections the memory held (counted in ``pg_stat_activity`` by a
unique ``application_name``, sampled every 5 ms from a separate connection).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
import psycopg
from psycopg.conninfo import make_conninfo

from agentkit import Agent, tool
from agentkit.memory.postgres import PostgresMemory
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.abstract import ModelRequest
from agentkit.models.function import FunctionModel, call


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: What to look up.
    """
    return f"value of {key}"


def _play(request: ModelRequest) -> AssistantMessage:
    """Call ``lookup`` once, then answer with its result."""
    last = request.messages[-1]
    if isinstance(last, ToolMessage):
        return AssistantMessage(content=f"found {last.content}")
    return AssistantMessage(tool_calls=(call("lookup", {"key": "k"}),))


async def _peak_connections(dsn: str, name: str, stop: anyio.Event, peak: list[int]) -> None:
    """Sample how many server connections carry ``name`` until ``stop`` is set; keep the peak."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            row = await (await conn.execute(query, (name,))).fetchone()
            peak[0] = max(peak[0], int(row[0]) if row else 0)
            await anyio.sleep(0.005)


async def one_load(dsn: str, runs: int, size: int) -> dict[str, Any]:
    """Start ``runs`` runs at once on one PostgresMemory with a pool of ``size``; measure them."""
    name = f"agentkit-bench-{uuid.uuid4().hex[:10]}"
    memory = PostgresMemory(
        make_conninfo(dsn, application_name=name),
        table=f"bench_pool_{uuid.uuid4().hex[:10]}",
        max_connections=size,
        wait_timeout_s=300,
    )
    agent = Agent(FunctionModel(_play), tools=[lookup], memory=memory)
    errors: list[str] = []
    peak = [0]
    await memory.load("warm-up")  # opens the pool and creates the tables outside the timing

    async def run_one(index: int) -> None:
        try:
            result = await agent.run("look k up", session=f"s{index}")
        except Exception as exc:  # counted and reported, not hidden
            errors.append(repr(exc))
        else:
            if result.output != "found value of k":
                errors.append(f"wrong output {result.output!r}")

    stop = anyio.Event()
    try:
        async with anyio.create_task_group() as sampler:
            sampler.start_soon(_peak_connections, dsn, name, stop, peak)
            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for index in range(runs):
                    group.start_soon(run_one, index)
            elapsed = time.perf_counter() - started
            stop.set()
        stored = len(await memory.load("s0"))
    finally:
        await memory.drop_tables()
    return {
        "size": size,
        "runs_per_s": runs / elapsed,
        "errors": len(errors),
        "peak_connections": peak[0],
        "messages_in_a_session": stored,
        "first_error": errors[0] if errors else None,
    }


def measure(dsn: str, runs: int, sizes: Sequence[int], reps: int) -> list[dict[str, Any]]:
    """Every pool size ``reps`` times, interleaved; one summary row per size."""
    samples: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    for _ in range(reps):
        for size in sizes:
            samples[size].append(anyio.run(one_load, dsn, runs, size))
    rows = []
    for size, got in samples.items():
        rows.append(
            {
                "max_connections": size,
                "runs_per_s_median": round(statistics.median(s["runs_per_s"] for s in got)),
                "runs_per_s_range": [
                    round(min(s["runs_per_s"] for s in got)),
                    round(max(s["runs_per_s"] for s in got)),
                ],
                "errors": sum(s["errors"] for s in got),
                "peak_connections": max(s["peak_connections"] for s in got),
                "messages_in_a_session": got[0]["messages_in_a_session"],
                "first_error": next((s["first_error"] for s in got if s["first_error"]), None),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per pool size; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000, help="concurrent runs per measurement")
    parser.add_argument("--sizes", default="1,4,16", help="pool sizes (max_connections), comma-separated")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions of each size")
    args = parser.parse_args(argv)
    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if not dsn:
        print("set AGENTKIT_TEST_POSTGRES_DSN to a PostgreSQL server", file=sys.stderr)
        return 2
    rows = measure(dsn, args.runs, [int(s) for s in args.sizes.split(",")], args.reps)
    base = rows[0]["runs_per_s_median"]
    for row in rows:
        print({**row, "speedup_vs_first": round(row["runs_per_s_median"] / base, 2)})
    return 0 if all(row["errors"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
