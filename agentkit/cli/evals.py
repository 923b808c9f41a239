"""``agentkit eval``: run a dataset against an agent, report, compare with earlier experiments.

Results go to ``--results`` (JSONL, default ``eval-NAME.jsonl``: rerunning resumes), one
trace per run beside it, the report to ``eval-NAME.json`` (what ``--compare`` reads) and, with
``--html``, a self-contained HTML report. Tables go to stdout, progress to stderr.

Exit status: 0 when every run finished, whatever the scores (a case that does not pass is
a result, in the report); 1 when a run failed (it raised: model, limits, replay mismatch) or
``--min-pass-rate`` is missed, the report written all the same; 2 for a usage problem found
before anything ran (dataset, agent, missing judge model).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import anyio
import typer

from agentkit.cli._echo import counted, echo
from agentkit.cli._errors import EXIT_RUN_FAILED, CliError, reported
from agentkit.cli._load import AGENT_HELP, build_model, load_agent
from agentkit.usage import format_usd

__all__ = ["eval_command"]


class _Ticker:
    """One line per finished run (plain) or a live bar (terminal), on stderr."""

    def __init__(self, total: int, out: IO[str], *, live: bool) -> None:
        self.total, self.done, self.passed, self._out = total, 0, 0, out
        self._bar: Any = None
        if live:
            from rich.console import Console  # noqa: PLC0415 - only on a terminal
            from rich.progress import (  # noqa: PLC0415 - likewise
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("eval"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(file=out),
                transient=True,
            )
            self._task = self._bar.add_task("", total=total)

    def __enter__(self) -> _Ticker:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, record: Any) -> None:
        self.done += 1
        self.passed += bool(record.passed)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{self.passed} passed")
            return
        verdict = (
            "passed"
            if record.passed
            else (
                "FAILED " + str((record.error or {}).get("type")) if record.status != "ok" else "did not pass"
            )
        )
        self._out.write(
            f"[{self.done}/{self.total}] {record.case}#{record.repetition} {verdict} "
            f"({record.latency_s:.2f}s, {format_usd(record.cost_usd)})\n"
        )
        self._out.flush()


def _agent(spec: str, model: str | None, base_url: str | None, offline: bool) -> Any:
    if offline and model is None and base_url is None:
        from agentkit.models.function import ScriptedModel  # noqa: PLC0415 - offline placeholder

        # Replaced by each case's recorded trace; it answers nothing itself.
        return load_agent(spec, ScriptedModel([], model_name="offline"))
    return load_agent(spec, build_model(model, base_url))


def eval_command(
    dataset: Annotated[Path, typer.Argument(help="The dataset: .yaml, .json or .jsonl.")],
    *,
    agent: Annotated[str, typer.Option("--agent", help=AGENT_HELP)],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (overrides the agent's).")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Experiment name (default: the model's).")
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", "-n", help="Runs per case.")] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Runs at once.")] = 8,
    results: Annotated[Path | None, typer.Option(help="Results JSONL (default eval-NAME.jsonl).")] = None,
    replay: Annotated[
        Path | None, typer.Option(help="Folder of recorded traces: run offline, no model called.")
    ] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Replay leniently (only the tool-call sequence).")
    ] = False,
    rescore_only: Annotated[
        bool, typer.Option("--rescore", help="Only score the stored results again (no model calls).")
    ] = False,
    compare_with: Annotated[
        list[Path] | None, typer.Option("--compare", help="Earlier report(s) to compare with (.json).")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report.")] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Model of the dataset's LLM judges (Kimi, or at --base-url).")
    ] = None,
    min_pass_rate: Annotated[
        float | None, typer.Option(help="Exit with status 1 below this pass rate (CI).")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run again the stored runs that failed (else kept).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the report (stdout) and errors (stderr).")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Run DATASET against an agent, score every run, print and save the report."""
    with reported(debug=debug):
        from agentkit.evals import Dataset, Report, compare, rescore, run_eval  # noqa: PLC0415 - loads on use
        from agentkit.evals.render import comparison_text, report_text  # noqa: PLC0415

        data = Dataset.load(dataset)
        if judge_model is None and _has_judge(data):
            raise CliError(
                f"{dataset} has LLM judges but no judge model", hint="add --judge-model NAME (e.g. kimi-k2.6)"
            )
        the_agent = _agent(agent, model, base_url, offline=replay is not None)
        label = name or model or str(getattr(the_agent.model, "model_name", "") or "experiment")
        store = results or Path(f"eval-{_safe(label)}.jsonl")
        earlier = [Report.load(p) for p in compare_with or []]
        total = len(data.cases) * repeat
        judge = None if judge_model is None else build_model(judge_model, base_url)

        async def body() -> Report:
            if rescore_only:
                return await rescore(data, store, name=label, judge_model=judge)
            with _Ticker(total, sys.stderr, live=sys.stderr.isatty()) as ticker:
                return await run_eval(
                    data,
                    the_agent,
                    name=label,
                    results=store,
                    repeat=repeat,
                    concurrency=concurrency,
                    replay=replay,
                    replay_strict=not lenient,
                    on_result=None if quiet else ticker,
                    judge_model=judge,
                    rerun_failed=retry_failed,
                )

        if rescore_only and not store.exists():
            raise CliError(f"--rescore needs stored results: {store} does not exist")
        report: Report = anyio.run(body)
        saved = report.save(store.with_suffix(".json"))
        echo(report_text(report))
        comparison = compare([*earlier, report]) if earlier else None
        if comparison is not None:
            echo(comparison_text(comparison))
        if html is not None:
            from agentkit.evals.html import render_report_html  # noqa: PLC0415

            html.write_text(render_report_html(report, comparison), encoding="utf-8")
        if not quiet:
            echo(f"results {store}, report {saved}" + (f", html {html}" if html else ""), err=True)
        _exit_status(report, store, min_pass_rate)


def _exit_status(report: Any, store: Path, min_pass_rate: float | None) -> None:
    """Exit 1, saying why, when a run failed or the pass rate is below ``min_pass_rate``."""
    summary, failing = report.summary, False
    if summary.failed_runs:
        kinds = sorted({str((r.error or {}).get("type")) for r in report.records if r.status != "ok"})
        echo(
            f"error: {summary.failed_runs} of {counted(summary.runs, 'run')} failed ({', '.join(kinds)}; "
            f"the errors are in {store}); rerun with --retry-failed to run them again",
            err=True,
        )
        failing = True
    if min_pass_rate is not None and summary.pass_rate < min_pass_rate:
        echo(f"pass rate {summary.pass_rate:.1%} is below {min_pass_rate:.1%}", err=True)
        failing = True
    if failing:
        raise typer.Exit(EXIT_RUN_FAILED)


def _has_judge(data: Any) -> bool:
    from agentkit.evals import LLMJudge  # noqa: PLC0415 - loads with the command

    checks = [*data.evaluators, *(c for case in data.cases for c in case.checks)]
    return any(isinstance(c, LLMJudge) and c.model is None for c in checks)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)[:80] or "experiment"
