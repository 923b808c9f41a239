"""Smoke tests of benchmarks/bench_replay.py (shape only, no timing asserted)."""

from __future__ import annotations

from benchmarks.bench_replay import VARIANTS, overhead_interleaved, replay_speed


def test_replay_speed_records_and_replays_a_long_run() -> None:
    """replay_speed(n) records an n-turn run, replays it strictly and reports sizes and times."""
    report = replay_speed(30)
    assert report["turns"] == 30
    assert set(report) == {"turns", "file_mb", "record_s", "load_s", "replay_s"}
    assert report["file_mb"] > 0


def test_interleaved_overhead_measures_every_variant_against_plain() -> None:
    """overhead_interleaved runs each recording variant in blocks beside plain ones (shape only)."""
    report = overhead_interleaved(2, 1)
    assert set(report) == set(VARIANTS)
    assert report["plain"]["ratio"] == 1.0
    assert all(figures["cpu_ms_per_turn"] > 0 for figures in report.values())
