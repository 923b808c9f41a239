"""Memory benchmarks: SQLite append and load speed, and what sessions add to a run's CPU.

``python benchmarks/bench_memory.py [--turns 5000] [--reps 5] [--runs 40] [--skip-overhead]``

1. **Append.** ``--turns`` turns (an assistant message with two tool calls plus the two
   results: 3 messages) appended to a fresh SQLite file with ``synchronous=NORMAL`` (the
   default) and ``FULL``: one ``await`` at a time (one writer), and from 64 concurrent
   writers (sessions), whose turns share transactions (group commit). Target: >= 5,000
   turns/s (NORMAL; met when either way of writing reaches it).
   With ``AGENTKIT_TEST_POSTGRES_DSN`` set, PostgresMemory is measured too (no target).
2. **Load.** A 1,000-message session loaded 50 times; the median. Target: <= 20 ms.
3. **Overhead.** The harness's CPU workload (``benchmarks/workload.py``, fake Kimi server in
   its own process): the plain agentkit client and the same client storing every run in a
   SQLite session (a new session per run) run as separate processes, interleaved ``--reps``
   times; the harness measures each client's CPU per turn. Target: sessions <= 1.10 x plain.

Client mode (used by part 3): ``python -m benchmarks.bench_memory client --base-url URL ...``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks.*`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import ClientOptions, RunOnce  # noqa: E402 - needs the sys.path line above
from benchmarks._harness import main as harness_main  # noqa: E402
from benchmarks.workload import CPU_TOOLS, INSTRUCTIONS, MODEL_NAME, PROMPT  # noqa: E402

APPEND_TARGET = 5_000
LOAD_TARGET_MS = 20.0
OVERHEAD_TARGET = 1.10


def _turn(index: int) -> list[Any]:
    from agentkit.messages import AssistantMessage, ToolCall, ToolMessage  # noqa: PLC0415

    calls = tuple(
        ToolCall(
            id=f"functions.get_weather:{2 * index + i}", name="get_weather", arguments='{"city": "Osaka"}'
        )
        for i in range(2)
    )
    return [
        AssistantMessage(content=None, tool_calls=calls, reasoning_content="Both cities at once."),
        *(
            ToolMessage(tool_call_id=c.id, name=c.name, content='{"temp_c": 21, "sky": "clear"}')
            for c in calls
        ),
    ]


async def _append_rate(memory: Any, turns: int) -> float:
    batch = [_turn(i) for i in range(turns)]
    await memory.append("warmup", batch[0])
    started = time.perf_counter()
    for turn in batch:
        await memory.append("bench", turn)
    return turns / (time.perf_counter() - started)


async def _concurrent_rate(memory: Any, turns: int, sessions: int = 64) -> float:
    """Turns per second when ``sessions`` runs append at once (each to its own session)."""
    per_session = max(1, turns // sessions)
    batch = [_turn(i) for i in range(per_session)]
    await memory.append("warmup", batch[0])

    async def writer(name: str) -> None:
        for turn in batch:
            await memory.append(name, turn)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(sessions):
            group.start_soon(writer, f"s{index}")
    return per_session * sessions / (time.perf_counter() - started)


async def _load_ms(memory: Any, messages: int, reps: int = 50) -> float:
    turn_count = messages // 3 + 1
    for i in range(turn_count):
        await memory.append("load", _turn(i))
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        loaded = await memory.load("load")
        samples.append((time.perf_counter() - started) * 1000)
    assert len(loaded) == turn_count * 3
    return statistics.median(samples)


def storage_speed(turns: int) -> dict[str, Any]:
    """Append rates (SQLite NORMAL / FULL, Postgres if configured) and the 1,000-message load time."""
    from agentkit.memory import SQLiteMemory  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-memory-"))
    out: dict[str, Any] = {}
    for sync in ("NORMAL", "FULL"):
        memory = SQLiteMemory(folder / f"{sync}.db", synchronous=sync)
        out[f"sqlite_{sync.lower()}_turns_per_s"] = round(anyio.run(_append_rate, memory, turns))
        out[f"sqlite_{sync.lower()}_64_sessions_turns_per_s"] = round(
            anyio.run(_concurrent_rate, memory, turns)
        )
        memory.close()
    memory = SQLiteMemory(folder / "load.db")
    out["sqlite_load_1000_ms"] = round(anyio.run(_load_ms, memory, 1000), 2)
    memory.close()
    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if dsn:
        from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - optional

        async def postgres() -> tuple[float, float]:
            pg = PostgresMemory(dsn, table=f"bench_{uuid.uuid4().hex[:10]}")
            try:
                return await _append_rate(pg, min(turns, 2000)), await _load_ms(pg, 1000)
            finally:
                await pg.drop_tables()

        rate, load = anyio.run(postgres)
        out["postgres_turns_per_s"], out["postgres_load_1000_ms"] = round(rate), round(load, 2)
    return out


@asynccontextmanager
async def session_runner(options: ClientOptions) -> AsyncIterator[RunOnce]:
    """The plain agentkit client, each run stored in a new session of a SQLite file."""
    from agentkit import Agent  # noqa: PLC0415 - the harness imports clients lazily
    from agentkit.memory import SQLiteMemory  # noqa: PLC0415
    from agentkit.models import KimiModel  # noqa: PLC0415

    model = KimiModel(MODEL_NAME, base_url=options.base_url, api_key="bench-key")
    memory = SQLiteMemory(Path(tempfile.mkdtemp(prefix="agentkit-bench-sessions-")) / "s.db")
    agent = Agent(model=model, instructions=INSTRUCTIONS, tools=CPU_TOOLS, memory=memory)

    async def complete() -> tuple[int, str]:
        result = await agent.run(PROMPT, session=uuid.uuid4().hex)
        return result.turns, result.output

    try:
        yield complete
    finally:
        await model.aclose()
        memory.close()


def overhead(reps: int, runs: int) -> dict[str, Any]:
    """Plain vs session CPU per turn (interleaved client processes, medians)."""
    from benchmarks.run import fake_server, run_json  # noqa: PLC0415 - only part 3 needs it

    python = Path(sys.executable)
    args = ["--runs", str(runs), "--warmup", "5"]
    plain: list[float] = []
    stored: list[float] = []
    with fake_server() as base_url:
        for _ in range(reps):
            for module, into in (("benchmarks.client_agentkit", plain), ("benchmarks.bench_memory", stored)):
                extra = ["client"] if module == "benchmarks.bench_memory" else []
                record = run_json(python, module, [*extra, "--base-url", base_url, *args])
                if record["wrong_outputs"]:
                    raise RuntimeError(f"{module}: {record['wrong_outputs']} wrong outputs")
                into.append(float(record["cpu_ms_per_turn"]))
    plain_ms, stored_ms = statistics.median(plain), statistics.median(stored)
    return {
        "plain_cpu_ms_per_turn": round(plain_ms, 3),
        "session_cpu_ms_per_turn": round(stored_ms, 3),
        "ratio": round(stored_ms / plain_ms, 3),
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=5000, help="turns appended in the append test")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions of each client")
    parser.add_argument("--runs", type=int, default=40, help="measured runs per client process")
    parser.add_argument("--skip-overhead", action="store_true", help="only measure storage speed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and print a short report; exit 1 when a target is missed."""
    args = _parse(argv)
    speed = storage_speed(args.turns)
    ok = (
        speed["sqlite_normal_turns_per_s"] >= APPEND_TARGET and speed["sqlite_load_1000_ms"] <= LOAD_TARGET_MS
    )
    for key, value in speed.items():
        print(f"{key}: {value}")
    print(
        f"targets: append >= {APPEND_TARGET} turns/s, load <= {LOAD_TARGET_MS} ms"
        f" -> {'OK' if ok else 'MISSED'}"
    )
    if not args.skip_overhead:
        cost = overhead(args.reps, args.runs)
        for key, value in cost.items():
            print(f"{key}: {value}")
        within = cost["ratio"] <= OVERHEAD_TARGET
        ok = ok and within
        print(
            f"target: sessions <= {OVERHEAD_TARGET:.2f} x plain CPU per turn -> {'OK' if within else 'OVER'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        harness_main("agentkit-sessions", session_runner, sys.argv[2:])
    else:
        sys.exit(main())
