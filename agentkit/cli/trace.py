"""``agentkit trace show|view`` and ``agentkit replay``: look at recorded runs and re-check them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer

from agentkit.cli._echo import counted, echo
from agentkit.cli._errors import EXIT_RUN_FAILED, CliError, reported
from agentkit.cli._load import AGENT_HELP, load_agent
from agentkit.exceptions import AgentkitError, ReplayMismatch
from agentkit.messages import SystemMessage, UserMessage, message_from_dict
from agentkit.models.replay import ReplayModel
from agentkit.tracing.abstract import Span
from agentkit.tracing.html import render_html
from agentkit.tracing.reader import Trace, read_trace
from agentkit.tracing.spans import spans_from_trace
from agentkit.tracing.timeline import format_plan, latest_plan, markers
from agentkit.usage import format_usd

__all__ = ["app", "format_tree", "replay"]

app = typer.Typer(help="Show recorded runs (trace files).", no_args_is_help=True)

TraceArg = Annotated[Path, typer.Argument(help="A JSONL trace file.", exists=True, dir_okay=False)]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")]


def _load(path: Path) -> Trace:
    try:
        return read_trace(path)
    except AgentkitError as err:
        raise CliError(f"cannot read the trace {path}: {err}") from None


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _describe(span: Span) -> str:
    a = span.attributes
    parts = [span.name, _duration(span.duration_s)]
    usage: Mapping[str, Any] = a.get("usage") or {}
    if span.kind in ("model_call", "run") and usage:
        parts.append(f"tokens {usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out")
        parts.append(format_usd(float(a.get("cost_usd") or 0.0)))
    if span.kind == "model_call" and a.get("finish_reason"):
        parts.append(f"finish={a['finish_reason']}")
    if span.kind == "tool_call":
        parts.append(f"args {_short(str(a.get('arguments')))}")
        parts.append(f"-> {_short(str(a.get('result')))}")
    if span.error:
        parts.append(f"ERROR {_short(span.error)}")
    return "  ".join(parts)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_tree(spans: list[Span]) -> list[str]:
    """Return the span tree as text lines (children by start time, with tree branches)."""
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        children.setdefault(span.parent_id, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, ()), key=lambda s: s.start_ns)
        for index, span in enumerate(kids):
            last = index == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append(prefix + branch + _describe(span))
            walk(span.span_id, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return lines


@app.command()
def show(path: TraceArg, debug: DebugOption = False) -> None:
    """Print the span tree of a recorded run: timings, tokens, cost and errors."""
    with reported(debug=debug):
        _show(path)


def _show(path: Path) -> None:
    trace = _load(path)
    header = trace.header
    echo(f"{path}  agent {header.get('agent')}  model {header.get('model')}  origin {trace.origin}")
    for line in format_tree(spans_from_trace(trace)):
        echo(line)
    found = markers(trace)
    if found:
        echo("decisions and plans:")
        for marker in found:
            echo(f"  +{marker.offset_s:.3f}s  {marker.text}")
    steps = latest_plan(trace)
    if steps:
        echo("plan:")
        for line in format_plan(steps):
            echo(f"  {line}")
    if trace.truncated:
        echo("(the file ends mid-record: the run was cut off)")


@app.command()
def view(
    path: TraceArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Where to write the HTML page (default: the trace's name, .html)."
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Write a self-contained HTML page with the run's timeline (no network needed to view it)."""
    with reported(debug=debug):
        page = path.with_suffix(".html") if output is None else output
        page.write_text(render_html(_load(path)), encoding="utf-8")
        echo(f"wrote {page}")


def _recorded_prompt(trace: Trace) -> tuple[str | None, list[Any]]:
    """The first request's conversation, without its system message, split into history and prompt."""
    first = next(trace.requests(), None)
    if first is None:
        raise AgentkitError("the trace has no model call to replay")
    messages = [message_from_dict(m) for m in first["messages"]]
    messages = [m for m in messages if not isinstance(m, SystemMessage)]
    if messages and isinstance(messages[-1], UserMessage):
        return messages[-1].content, messages[:-1]
    return None, messages


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Outcome:
    ok: bool
    text: str


async def _replay(trace: Trace, spec: str, *, strict: bool) -> _Outcome:
    model = ReplayModel(trace, strict=strict)
    agent = load_agent(spec, model)  # the one loader: a file or a module, an agent or a factory
    prompt, history = _recorded_prompt(trace)
    try:
        result = await agent.run(prompt, message_history=history)
        model.finish()
    except ReplayMismatch as err:
        return _Outcome(ok=False, text=f"mismatch: {err}")
    recorded = (trace.final or {}).get("output")
    if strict and recorded is not None and recorded != _plain(result.output):
        return _Outcome(
            ok=False, text=f"mismatch: final output\n--- recorded\n{recorded}\n+++ actual\n{result.output}"
        )
    return _Outcome(
        ok=True, text=f"match: {counted(len(trace.model_calls), 'model call')} replayed, output identical"
    )


def _plain(value: Any) -> Any:
    from agentkit.tracing._codec import jsonable  # noqa: PLC0415 - only needed here

    return jsonable(value)


def replay(
    path: TraceArg,
    agent: Annotated[str, typer.Option("--agent", help=AGENT_HELP)],
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Only check the sequence of tool calls.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Re-run an agent against its recording and report match or mismatch (with the diff)."""
    with reported(debug=debug):
        trace = _load(path)
        outcome = anyio.run(lambda: _replay(trace, agent, strict=not lenient))
    echo(outcome.text)
    if not outcome.ok:
        raise typer.Exit(EXIT_RUN_FAILED)
