"""Smoke test of the eval benchmark: a small eval against the fake server in its own process completes."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from benchmarks.bench_evals import dataset, measure


@pytest.mark.timeout(240)  # a server process and a few dozen HTTP calls on a loaded machine
def test_benchmark_runs_resumes_and_rescores(tmp_path: Path) -> None:
    """Six cases run and pass, leave six traces; the rerun resumes all six; re-scoring keeps the verdicts."""
    figures = anyio.run(measure, 6, 3, 0.0, tmp_path)
    assert (figures["runs"], figures["failed_runs"], figures["pass_rate"]) == (6, 0, 1.0)
    assert (figures["traces"], figures["resumed_runs"], figures["rescored_pass_rate"]) == (6, 6, 1.0)
    assert [c.name for c in dataset(3).cases] == ["city0000", "city0001", "city0002"]
