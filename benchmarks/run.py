"""Run the benchmark: every client against one loopback fake Kimi server, side by side.

``python benchmarks/run.py [--quick] [--only agentkit,raw_create] [--reps N]`` (``make bench``).

One run reports every figure of issue 16 together: CPU per model turn (agentkit, the raw
``create`` loop, the raw httpx loop; complete and stream), the cold start (``import agentkit``,
``agentkit --help``; ``bench_cold_start.py``), one turn of 8 parallel 200 ms tools, and 1,000
runs in flight at once (``bench_durable.py inproc``), each against its target.

The fake server runs in its own process (its CPU is not counted); every client
runs as its own subprocess and measures itself (``benchmarks/_harness.py``).
Repetitions are interleaved across clients so drift on the machine hits them
alike; the table shows the median and the min-max. The peers (openai-agents,
pydantic-ai) run from ``.bench-venv``, created here on first use; when peers
are measured, every client runs from that venv, so all share one openai /
httpx2 / pydantic. A peer that cannot be installed or fails is reported as
unavailable with the reason. Results go to ``benchmarks/results/latest.json``
and a Markdown report to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks.*`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.workload import TURNS_PER_RUN  # noqa: E402 - needs the sys.path line above

__all__ = ["CLIENTS", "PEERS", "Plan", "main"]

#: Client name -> module run with ``python -m``.
CLIENTS: dict[str, str] = {
    "agentkit": "benchmarks.client_agentkit",
    "raw_create": "benchmarks.client_raw_create",
    "httpx": "benchmarks.client_httpx",
    "openai_agents": "benchmarks.client_openai_agents",
    "pydantic_ai": "benchmarks.client_pydantic_ai",
}
#: Peer frameworks: client name -> the module it imports (installed in .bench-venv only).
PEERS: dict[str, str] = {"openai_agents": "agents", "pydantic_ai": "pydantic_ai"}
#: Where the peers are installed (``--bench-venv`` overrides, e.g. to benchmark a snapshot tree).
BENCH_VENV = ROOT / ".bench-venv"
BENCH_PACKAGES = ("openai-agents", "pydantic-ai")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "latest.json"
LATENCY_TARGET_MS = 215.0
CPU_RATIO_TARGET = 0.5
#: agentkit's CPU per turn against the raw httpx loop's (the floor), complete and stream.
FLOOR_RATIO_TARGET = 1.3
_CLIENT_TIMEOUT_S = 600


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """How much to run: repetitions, runs per client process, the concurrency case, the latency case."""

    reps: int = 5
    runs: int = 40
    warmup: int = 5
    concurrent_runs: int = 100
    concurrency: int = 50
    concurrent_reps: int = 3
    latency_runs: int = 9
    cold_runs: int = 10
    thousand_runs: int = 1000
    thousand_reps: int = 1

    @classmethod
    def quick(cls) -> Plan:
        """A plan that checks everything works in seconds (numbers are not meaningful)."""
        return cls(
            reps=1,
            runs=2,
            warmup=1,
            concurrent_runs=4,
            concurrency=2,
            concurrent_reps=1,
            latency_runs=1,
            cold_runs=1,
            thousand_runs=20,
        )


# --- environment ---------------------------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _check_imports(python: Path, modules: Sequence[str]) -> dict[str, str]:
    """Return module -> reason for every module ``python`` cannot import."""
    missing: dict[str, str] = {}
    for module in modules:
        proc = subprocess.run(
            [str(python), "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            missing[module] = lines[-1] if lines else f"exit status {proc.returncode}"
    return missing


def ensure_bench_venv() -> tuple[Path | None, str]:
    """Create ``.bench-venv`` with the peers and agentkit when needed; return (python, problem)."""
    python = _venv_python(BENCH_VENV)
    if python.exists() and not _check_imports(python, ["agentkit", *PEERS.values()]):
        return python, ""
    _status(f"setting up {BENCH_VENV.name} (pip install -e . {' '.join(BENCH_PACKAGES)}) ...")
    steps = [
        [sys.executable, "-m", "venv", str(BENCH_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-e", str(ROOT), *BENCH_PACKAGES],
    ]
    for step in steps:
        if step[0] == str(python) or not python.exists():
            proc = subprocess.run(step, cwd=ROOT, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                return (python if python.exists() else None), f"{' '.join(step[:4])} failed: {tail}"
    return python, ""


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for d in ('agentkit', 'openai', 'httpx2', 'pydantic', 'openai-agents', 'pydantic-ai'):\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    parsed: dict[str, str] = orjson.loads(proc.stdout) if proc.returncode == 0 else {}
    return parsed


# --- processes -----------------------------------------------------------------------------------


@contextmanager
def fake_server() -> Iterator[str]:
    """Start the fake Kimi server in its own process; yield its base URL; stop it afterwards."""
    command = [
        sys.executable,
        "-m",
        "agentkit.testing",
        "serve",
        "--script-module",
        "benchmarks.workload:responder",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the fake Kimi server did not start (exit status {proc.poll()})")
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_json(python: Path, module: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``python -m module args`` and return the JSON object on its last stdout line.

    Raises:
        RuntimeError: it failed or printed no JSON (the message holds the end of its stderr).
    """
    proc = subprocess.run(
        [str(python), "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=_CLIENT_TIMEOUT_S,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{module} exited with {proc.returncode}: {tail}")
    parsed: dict[str, Any] = orjson.loads(lines[-1])
    return parsed


def _status(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- measuring -----------------------------------------------------------------------------------


@dataclass(kw_only=True, slots=True)
class _Session:
    """What one benchmark session knows and collects as it goes."""

    base_url: str
    plan: Plan
    pythons: dict[str, Path]
    records: list[dict[str, Any]]
    unavailable: dict[str, str]


def _run_client(session: _Session, client: str, kind: str, rep: int, args: list[str]) -> None:
    if client in session.unavailable:
        return
    try:
        record = run_json(session.pythons[client], CLIENTS[client], ["--base-url", session.base_url, *args])
    except (RuntimeError, subprocess.TimeoutExpired, orjson.JSONDecodeError) as err:
        session.unavailable[client] = f"failed: {err}"
        _status(f"  {client}: {session.unavailable[client]}")
        return
    session.records.append({**record, "kind": kind, "rep": rep})


def measure_sequential(session: _Session, clients: Sequence[str]) -> None:
    """CPU per turn: each client and mode runs ``plan.runs`` runs one after another, ``plan.reps`` times."""
    plan = session.plan
    for rep in range(plan.reps):
        _status(f"sequential runs, repetition {rep + 1}/{plan.reps}")
        for client in clients:
            for mode in ("complete", "stream"):
                args = ["--mode", mode, "--runs", str(plan.runs), "--warmup", str(plan.warmup)]
                _run_client(session, client, "sequential", rep, args)


def measure_concurrent(session: _Session, clients: Sequence[str]) -> None:
    """Throughput: ``plan.concurrent_runs`` runs with ``plan.concurrency`` in flight, complete mode."""
    plan = session.plan
    for rep in range(plan.concurrent_reps):
        _status(f"{plan.concurrency} concurrent runs, repetition {rep + 1}/{plan.concurrent_reps}")
        for client in clients:
            args = [
                "--mode",
                "complete",
                "--runs",
                str(plan.concurrent_runs),
                "--warmup",
                str(plan.concurrency),
                "--concurrency",
                str(plan.concurrency),
            ]
            _run_client(session, client, "concurrent", rep, args)


def measure_latency(session: _Session) -> dict[str, Any] | None:
    """The 8 x 200 ms parallel-tools turn, through agentkit; medians against the target."""
    _status("latency: one turn of 8 parallel tools sleeping 200 ms")
    try:
        record = run_json(
            session.pythons["agentkit"],
            "benchmarks.latency_agentkit",
            ["--base-url", session.base_url, "--runs", str(session.plan.latency_runs)],
        )
    except (RuntimeError, subprocess.TimeoutExpired, orjson.JSONDecodeError) as err:
        session.unavailable["latency"] = f"failed: {err}"
        return None
    turn, tools = record["turn_ms"], record["tool_phase_ms"]
    return {
        **record,
        "tool_phase_ms_median": round(statistics.median(tools), 1),
        "turn_ms_median": round(statistics.median(turn), 1),
        "turn_ms_min": round(min(turn), 1),
        "turn_ms_max": round(max(turn), 1),
        "target_ms": LATENCY_TARGET_MS,
        "target_met": statistics.median(turn) <= LATENCY_TARGET_MS,
    }


def measure_cold_start(plan: Plan) -> dict[str, Any]:
    """Whole-process start-up times (``bench_cold_start.measure``), CPU medians against the targets."""
    from benchmarks import bench_cold_start  # noqa: PLC0415 - only this measurement needs it

    _status("cold start: python -c 'import agentkit', agentkit --help")
    report: dict[str, Any] = bench_cold_start.measure(plan.cold_runs)
    for label, target in bench_cold_start.TARGETS_S.items():
        report[label]["target_s"] = target
        report[label]["target_met"] = report[label]["cpu_median_s"] <= target
    return report


def measure_thousand(session: _Session) -> dict[str, Any] | None:
    """``plan.thousand_runs`` agentkit and raw-create runs in flight at once, errors counted."""
    plan = session.plan
    _status(f"{plan.thousand_runs} runs at once (bench_durable inproc)")
    args = ["inproc", "--runs", str(plan.thousand_runs), "--repeats", str(plan.thousand_reps)]
    try:
        return run_json(session.pythons["agentkit"], "benchmarks.bench_durable", args)
    except (RuntimeError, subprocess.TimeoutExpired, orjson.JSONDecodeError) as err:
        session.unavailable["thousand"] = f"failed: {err}"
        return None


# --- summarising ---------------------------------------------------------------------------------


def _turns_ok(record: dict[str, Any]) -> bool:
    expected = {str(TURNS_PER_RUN): record["runs"]}
    return bool(record["turn_counts"] == expected and record["wrong_outputs"] == 0)


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (kind, client, mode): medians over repetitions, and the ratio to raw create."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["kind"], record["client"], record["mode"]), []).append(record)
    rows = []
    for (kind, client, mode), group in groups.items():
        cpu = [r["cpu_ms_per_turn"] for r in group]
        rows.append(
            {
                "kind": kind,
                "client": client,
                "mode": mode,
                "reps": len(group),
                "runs": group[0]["runs"],
                "concurrency": group[0]["concurrency"],
                "cpu_ms_per_turn": round(statistics.median(cpu), 3),
                "cpu_ms_per_turn_min": round(min(cpu), 3),
                "cpu_ms_per_turn_max": round(max(cpu), 3),
                "wall_s": round(statistics.median(r["wall_s"] for r in group), 3),
                "wall_ms_per_run": round(statistics.median(r["wall_s"] * 1000 / r["runs"] for r in group), 2),
                "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in group), 1),
                "turns_ok": all(_turns_ok(r) for r in group),
            }
        )
    baseline = {(r["kind"], r["mode"]): r["cpu_ms_per_turn"] for r in rows if r["client"] == "raw_create"}
    floor = {(r["kind"], r["mode"]): r["cpu_ms_per_turn"] for r in rows if r["client"] == "httpx"}
    for row in rows:
        base = baseline.get((row["kind"], row["mode"]))
        row["ratio_vs_raw_create"] = round(row["cpu_ms_per_turn"] / base, 3) if base else None
        low = floor.get((row["kind"], row["mode"]))
        row["ratio_vs_httpx"] = round(row["cpu_ms_per_turn"] / low, 3) if low else None
    order = list(CLIENTS)
    rows.sort(key=lambda r: (r["kind"] != "sequential", r["mode"], order.index(r["client"])))
    return rows


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _ok(row: dict[str, Any]) -> str:
    return "yes" if row["turns_ok"] else "NO"


def _cpu_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    out = [
        "## CPU per model turn, sequential runs (client process only)",
        "",
        "| client | mode | CPU ms/turn | min-max | vs raw create | vs httpx | wall ms/run | peak RSS MB "
        "| turns ok |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        spread = f"{r['cpu_ms_per_turn_min']:.2f}-{r['cpu_ms_per_turn_max']:.2f}"
        out.append(
            f"| {r['client']} | {r['mode']} | {r['cpu_ms_per_turn']:.2f} | {spread} | "
            f"{_ratio(r['ratio_vs_raw_create'])} | {_ratio(r['ratio_vs_httpx'])} | "
            f"{r['wall_ms_per_run']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {_ok(r)} |"
        )
    return out


def _concurrent_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    out = [
        "",
        f"## {rows[0]['runs']} runs, {rows[0]['concurrency']} at a time (complete mode)",
        "",
        "| client | wall s | CPU ms/turn | vs raw create | peak RSS MB | turns ok |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['client']} | {r['wall_s']:.2f} | {r['cpu_ms_per_turn']:.2f} | "
            f"{_ratio(r['ratio_vs_raw_create'])} | {r['peak_rss_mb']:.0f} | {_ok(r)} |"
        )
    return out


def _latency_lines(latency: dict[str, Any] | None) -> list[str]:
    if latency is None:
        return []
    verdict = "met" if latency["target_met"] else "NOT met"
    return [
        "",
        f"## Latency: one agentkit turn of {latency['parallel_calls']} parallel tools sleeping 200 ms",
        "",
        f"- tool phase: {latency['tool_phase_ms_median']} ms (median of {latency['runs']} runs)",
        f"- whole turn: {latency['turn_ms_median']} ms (median; {latency['turn_ms_min']}-"
        f"{latency['turn_ms_max']}); target <= {LATENCY_TARGET_MS:g} ms: {verdict}",
    ]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _target_lines(report: dict[str, Any], sequential: Sequence[dict[str, Any]]) -> list[str]:
    """Every target of the report beside its measured figure."""
    out = ["", "## Against the targets", ""]
    for r in sequential:
        if r["client"] == "agentkit" and r["ratio_vs_httpx"] is not None:
            out.append(
                f"- agentkit CPU per turn, {r['mode']}: {r['ratio_vs_httpx']:.2f}x the raw httpx loop "
                f"(target <= {FLOOR_RATIO_TARGET}x): {_met(r['ratio_vs_httpx'] <= FLOOR_RATIO_TARGET)}"
            )
    for label, c in (report.get("cold_start") or {}).items():
        if "target_s" in c:
            out.append(
                f"- `{label}`: {c['cpu_median_s']:.3f} s CPU (median; wall {c['wall_median_s']:.3f} s), "
                f"target <= {c['target_s']} s: {_met(c['target_met'])}"
            )
    latency = report.get("latency")
    if latency is not None:
        out.append(
            f"- 8 parallel 200 ms tools: whole turn {latency['turn_ms_median']} ms, "
            f"target <= {LATENCY_TARGET_MS:g} ms: {_met(latency['target_met'])}"
        )
    thousand = report.get("thousand")
    if thousand is not None:
        errors, rates = thousand["errors"], thousand["runs_per_s"]
        out.append(
            f"- {thousand['runs_at_once']} runs at once: agentkit {rates['agentkit']} runs/s "
            f"with {errors['agentkit']} errors (raw create {rates['raw_create']} runs/s, "
            f"{errors['raw_create']} errors), target 0 errors: {_met(errors['agentkit'] == 0)}"
        )
    return out if len(out) > 3 else []


def markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown tables."""
    rows = report["summary"]
    sequential = [r for r in rows if r["kind"] == "sequential"]
    out = [f"# agentkit benchmark, {report['date']} ({report['machine']['nproc']} cores)", ""]
    out += _cpu_table(sequential)
    out += _concurrent_table([r for r in rows if r["kind"] == "concurrent"])
    out += _latency_lines(report["latency"])
    ours = {r["mode"]: r["ratio_vs_raw_create"] for r in sequential if r["client"] == "agentkit"}
    if ours:
        shown = ", ".join(f"{mode} {_ratio(v)}" for mode, v in sorted(ours.items()))
        out += ["", f"agentkit CPU per turn vs raw create: {shown} (target <= {CPU_RATIO_TARGET}x)"]
    out += _target_lines(report, sequential)
    if report["unavailable"]:
        out += ["", "## Unavailable", ""]
        out += [f"- {name}: {reason}" for name, reason in report["unavailable"].items()]
    return "\n".join(out) + "\n"


# --- the command ---------------------------------------------------------------------------------


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the agentkit benchmark (see benchmarks/README.md).")
    parser.add_argument("--quick", action="store_true", help="a few runs only: checks it works, not timing")
    parser.add_argument("--only", help=f"comma-separated clients (default: all of {', '.join(CLIENTS)})")
    parser.add_argument("--reps", type=int, help="repetitions of each measurement (default 5; quick 1)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    parser.add_argument(
        "--bench-venv",
        type=Path,
        help=f"the venv holding the peers (default {BENCH_VENV}; created when missing)",
    )
    return parser.parse_args(argv)


def _pythons(clients: Sequence[str], unavailable: dict[str, str]) -> dict[str, Path]:
    """Pick each client's interpreter; peers need .bench-venv, and then everyone uses it."""
    own = Path(sys.executable)
    peers = [c for c in clients if c in PEERS]
    if not peers:
        return dict.fromkeys(clients, own)
    python, problem = ensure_bench_venv()
    if python is None or problem:
        unavailable.update(dict.fromkeys(peers, f"could not set up {BENCH_VENV.name}: {problem}"))
        return dict.fromkeys(clients, own)
    missing = _check_imports(python, [PEERS[c] for c in peers])
    for client in peers:
        if PEERS[client] in missing:
            unavailable[client] = f"not importable in {BENCH_VENV.name}: {missing[PEERS[client]]}"
    if _check_imports(python, ["agentkit"]):
        return {c: (python if c in PEERS else own) for c in clients}
    return dict.fromkeys(clients, python)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON results, print the Markdown report; 1 if our own clients failed."""
    args = _parse(argv)
    if args.bench_venv is not None:
        global BENCH_VENV  # noqa: PLW0603 - one process-wide setting, fixed before anything runs
        BENCH_VENV = args.bench_venv.resolve()
    clients = [c.strip() for c in args.only.split(",")] if args.only else list(CLIENTS)
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        sys.stderr.write(f"unknown clients {unknown}; choose from {', '.join(CLIENTS)}\n")
        return 2
    plan = Plan.quick() if args.quick else Plan()
    if args.reps:
        plan = Plan(**{**{f: getattr(plan, f) for f in Plan.__dataclass_fields__}, "reps": args.reps})
    unavailable: dict[str, str] = {}
    pythons = _pythons(clients, unavailable)
    with fake_server() as base_url:
        session = _Session(base_url=base_url, plan=plan, pythons=pythons, records=[], unavailable=unavailable)
        measure_sequential(session, clients)
        measure_concurrent(session, clients)
        latency = measure_latency(session) if "agentkit" in clients else None
    thousand = measure_thousand(session) if "agentkit" in clients else None
    cold_start = measure_cold_start(plan) if "agentkit" in clients else None
    report = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "plan": {f: getattr(plan, f) for f in Plan.__dataclass_fields__},
        "quick": args.quick,
        "versions": {str(p): _versions(p) for p in sorted(set(pythons.values()))},
        "pythons": {c: str(p) for c, p in pythons.items()},
        "summary": summarize(session.records),
        "latency": latency,
        "thousand": thousand,
        "cold_start": cold_start,
        "unavailable": unavailable,
        "records": session.records,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    sys.stdout.write(markdown(report))
    ours_failed = [c for c in clients if c not in PEERS and c in unavailable] or bool(
        {"latency", "thousand"} & set(unavailable)
    )
    return 1 if ours_failed else 0


if __name__ == "__main__":
    sys.exit(main())
