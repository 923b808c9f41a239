"""Smoke test of benchmarks/bench_replay.py's replay measurement (shape only, no timing asserted)."""

from __future__ import annotations

from benchmarks.bench_replay import replay_speed


def test_replay_speed_records_and_replays_a_long_run() -> None:
    """replay_speed(n) records an n-turn run, replays it strictly and reports sizes and times."""
    report = replay_speed(30)
    assert report["turns"] == 30
    assert set(report) == {"turns", "file_mb", "record_s", "load_s", "replay_s"}
    assert report["file_mb"] > 0
