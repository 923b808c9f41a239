"""Cold start, whole process: ``python -c "import agentkit"`` and ``agentkit --help``.

``python benchmarks/bench_cold_start.py [--runs 15]``

Each command is started ``--runs`` times, interleaved with the others (so a drift in the
machine's speed touches them all alike) after one warm-up run each; a run is timed from the
child's start to its exit (interpreter start-up included) and its CPU is the operating system's
count for the finished child. ``python -c pass`` is measured alongside as the interpreter's own
floor. Targets: ``import agentkit`` <= 0.25 s, ``agentkit --help`` <= 0.35 s. They are judged
on the CPU median: a start-up is one thread, so on a quiet machine wall and CPU agree, while on a
shared, loaded machine the wall time also counts the wait for a core. The report prints the
median and the range of each; exit 1 when a CPU median misses.

The children run without ``PYTHONDONTWRITEBYTECODE``, so the warm-up writes the bytecode
caches an installed package has (pip compiles them at install time); with that variable set,
every run would compile agentkit's sources anew and measure the compiler instead.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS_S = {"import agentkit": 0.25, "agentkit --help": 0.35}


def commands() -> dict[str, list[str]]:
    """The measured commands, by label: the floor, the import and the CLI's help."""
    cli = shutil.which("agentkit", path=str(Path(sys.executable).parent)) or "agentkit"
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import agentkit": [sys.executable, "-c", "import agentkit"],
        "agentkit --help": [cli, "--help"],
    }


def _child_env() -> dict[str, str]:
    """This process's environment, less ``PYTHONDONTWRITEBYTECODE`` (see the module docstring)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_once(argv: Sequence[str]) -> tuple[float, float]:
    """Run ``argv`` once; return its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=_child_env()
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int) -> dict[str, dict[str, float]]:
    """Time every command ``runs`` times, interleaved, after one warm-up each."""
    argvs = commands()
    for argv in argvs.values():
        time_once(argv)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in argvs}
    for _ in range(runs):
        for label, argv in argvs.items():
            samples[label].append(time_once(argv))
    report = {}
    for label, got in samples.items():
        walls = [w for w, _ in got]
        cpus = [c for _, c in got]
        report[label] = {
            "wall_median_s": round(statistics.median(walls), 3),
            "wall_min_s": round(min(walls), 3),
            "wall_max_s": round(max(walls), 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            "cpu_min_s": round(min(cpus), 3),
            "cpu_max_s": round(max(cpus), 3),
        }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per command; exit 1 if a median CPU time misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each command")
    args = parser.parse_args(argv)
    report = measure(args.runs)
    ok = True
    for label, figures in report.items():
        target = TARGETS_S.get(label)
        verdict = ""
        if target is not None:
            met = figures["cpu_median_s"] <= target
            ok = ok and met
            verdict = f"  target <= {target} s: {'OK' if met else 'MISSED'}"
        print(f"{label}: {figures}{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
