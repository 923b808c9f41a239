"""Smoke tests of the benchmark harness: the clients run the workload to the end and report the agreed JSON.

Nothing here asserts timing: only that every run took the scripted number of
turns, gave the expected answer, and that the reports have their shape.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentkit.testing import FakeKimiServer
from benchmarks import client_agentkit, client_httpx, client_raw_create, latency_agentkit, run
from benchmarks._harness import ClientOptions, Mode, Runner, measure
from benchmarks.workload import LATENCY_CALLS, TURNS_PER_RUN, responder

ROOT = Path(__file__).resolve().parent.parent
CLIENTS: dict[str, Runner] = {
    "agentkit": client_agentkit.runner,
    "raw_create": client_raw_create.runner,
    "httpx": client_httpx.runner,
}
REPORT_KEYS = {
    "client",
    "mode",
    "runs",
    "concurrency",
    "turns",
    "turn_counts",
    "wrong_outputs",
    "cpu_s",
    "wall_s",
    "peak_rss_mb",
    "cpu_ms_per_turn",
    "python",
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKimiServer]:
    """A fake Kimi server playing the benchmark workload."""
    with FakeKimiServer(responder) as fake:
        yield fake
    assert not fake.problems


def _check_report(report: dict[str, Any], client: str, mode: str, runs: int) -> None:
    assert set(report) == REPORT_KEYS
    assert (report["client"], report["mode"], report["runs"]) == (client, mode, runs)
    assert report["turns"] == runs * TURNS_PER_RUN
    assert report["turn_counts"] == {str(TURNS_PER_RUN): runs}
    assert report["wrong_outputs"] == 0
    assert isinstance(report["cpu_ms_per_turn"], float)
    assert orjson.loads(orjson.dumps(report)) == report


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["complete", "stream"])
@pytest.mark.parametrize("client", list(CLIENTS))
async def test_client_runs_the_workload_sequentially(server: FakeKimiServer, client: str, mode: Mode) -> None:
    """Each client, in each mode, completes every run in 4 turns with the scripted answer and reports it."""
    options = ClientOptions(base_url=server.base_url, mode=mode, runs=2, warmup=1, concurrency=1)
    report = await measure(client, CLIENTS[client], options)
    _check_report(report, client, mode, runs=2)


@pytest.mark.anyio
@pytest.mark.parametrize("client", list(CLIENTS))
async def test_client_runs_the_workload_concurrently(server: FakeKimiServer, client: str) -> None:
    """Runs in flight at once share one server and still each take exactly 4 turns."""
    options = ClientOptions(base_url=server.base_url, mode="complete", runs=6, warmup=0, concurrency=6)
    report = await measure(client, CLIENTS[client], options)
    _check_report(report, client, "complete", runs=6)
    assert report["concurrency"] == 6


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_agentkit_reuses_one_connection(mode: Mode) -> None:
    """Sequential agentkit runs send every turn over one kept-alive connection, streamed or not."""
    with FakeKimiServer(responder) as fake:
        options = ClientOptions(base_url=fake.base_url, mode=mode, runs=2, warmup=0, concurrency=1)
        report = await measure("agentkit", client_agentkit.runner, options)
    assert len(fake.requests) == report["turns"] == 2 * TURNS_PER_RUN
    assert fake.connection_count == 1


@pytest.mark.anyio
async def test_latency_case_runs_eight_parallel_tools(server: FakeKimiServer) -> None:
    """The latency script asks for 8 parallel slow tools once, and all 8 finish within the first turn."""
    report = await latency_agentkit.measure(server.base_url, runs=1, warmup=0)
    assert report["calls_finished"] == [LATENCY_CALLS]
    assert len(report["tool_phase_ms"]) == len(report["turn_ms"]) == 1


def test_summary_takes_medians_and_ratios_against_raw_create() -> None:
    """summarize() takes the median CPU per turn over repetitions and divides by raw create's (same mode)."""
    base = {"runs": 2, "concurrency": 1, "wall_s": 0.1, "peak_rss_mb": 50.0, "kind": "sequential"}
    ok = {"turn_counts": {str(TURNS_PER_RUN): 2}, "wrong_outputs": 0}
    records = [
        {**base, **ok, "client": "raw_create", "mode": "complete", "cpu_ms_per_turn": cpu}
        for cpu in (4.0, 2.0, 3.0)
    ] + [
        {**base, **ok, "client": "agentkit", "mode": "complete", "cpu_ms_per_turn": cpu}
        for cpu in (1.5, 9.0, 1.0)
    ]
    records.append(
        {**base, "client": "httpx", "mode": "stream", "cpu_ms_per_turn": 1.0, **ok, "wrong_outputs": 1}
    )
    rows = {(r["client"], r["mode"]): r for r in run.summarize(records)}
    assert rows["agentkit", "complete"]["cpu_ms_per_turn"] == 1.5
    assert rows["agentkit", "complete"]["ratio_vs_raw_create"] == 0.5
    assert rows["agentkit", "complete"]["turns_ok"] is True
    assert rows["httpx", "stream"]["ratio_vs_raw_create"] is None
    assert rows["httpx", "stream"]["turns_ok"] is False


@pytest.mark.timeout(120)
def test_run_py_quick_end_to_end(tmp_path: Path) -> None:
    """`run.py --quick` starts a server process, runs one client subprocess per case and writes the JSON."""
    output = tmp_path / "latest.json"
    proc = subprocess.run(  # noqa: S603 - fixed argv: this interpreter running the repo's own script
        [sys.executable, "benchmarks/run.py", "--quick", "--only", "httpx", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = orjson.loads(output.read_bytes())
    assert report["unavailable"] == {}
    cases = {(r["kind"], r["mode"]): r for r in report["summary"]}
    assert set(cases) == {("sequential", "complete"), ("sequential", "stream"), ("concurrent", "complete")}
    assert all(r["client"] == "httpx" and r["turns_ok"] for r in cases.values())
    assert "| httpx | complete |" in proc.stdout


def test_cold_start_benchmark_times_the_three_commands() -> None:
    """bench_cold_start runs each command to completion and reports wall and CPU for each."""
    from benchmarks import bench_cold_start  # noqa: PLC0415 - only this test needs it

    report = bench_cold_start.measure(runs=1)
    assert set(report) == {"python -c pass", "import agentkit", "agentkit --help"}
    assert all(f["wall_median_s"] > 0 and f["cpu_median_s"] >= 0 for f in report.values())


def test_the_report_sets_every_figure_against_its_target() -> None:
    """markdown() lists the httpx ratios, the cold start, the latency and the 1,000 runs, each met or not."""
    base = {"runs": 2, "concurrency": 1, "wall_s": 0.1, "peak_rss_mb": 50.0, "kind": "sequential"}
    ok = {"turn_counts": {str(TURNS_PER_RUN): 2}, "wrong_outputs": 0}
    records = [
        {**base, **ok, "client": client, "mode": mode, "cpu_ms_per_turn": cpu}
        for client, mode, cpu in (
            ("httpx", "complete", 1.0),
            ("agentkit", "complete", 1.2),
            ("httpx", "stream", 2.0),
            ("agentkit", "stream", 3.0),
        )
    ]
    summary = run.summarize(records)
    assert {(r["client"], r["mode"]): r["ratio_vs_httpx"] for r in summary}[("agentkit", "stream")] == 1.5
    cold = {
        "import agentkit": {"cpu_median_s": 0.2, "wall_median_s": 0.3, "target_s": 0.25, "target_met": True},
        "agentkit --help": {"cpu_median_s": 0.4, "wall_median_s": 0.5, "target_s": 0.35, "target_met": False},
    }
    report = {
        "date": "today",
        "machine": {"nproc": 2},
        "summary": summary,
        "latency": None,
        "thousand": {
            "runs_at_once": 1000,
            "runs_per_s": {"agentkit": 30.0, "raw_create": 15.0},
            "errors": {"agentkit": 0, "raw_create": 2},
        },
        "cold_start": cold,
        "unavailable": {},
    }
    text = run.markdown(report)
    assert "complete: 1.20x the raw httpx loop (target <= 1.3x): met" in text
    assert "stream: 1.50x the raw httpx loop (target <= 1.3x): NOT met" in text
    assert "`import agentkit`: 0.200 s CPU (median; wall 0.300 s), target <= 0.25 s: met" in text
    assert "`agentkit --help`: 0.400 s CPU" in text
    assert "target <= 0.35 s: NOT met" in text
    assert "1000 runs at once: agentkit 30.0 runs/s with 0 errors" in text
