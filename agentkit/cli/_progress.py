"""Live progress of a run on the terminal: the turn, the tool calls running, tokens and cost.

`Progress` is a [`RunHooks`][agentkit.hooks.RunHooks] that only watches
events. On a terminal it draws a live panel (rich): the current turn, what the
model is doing, each running tool call on its own row with its elapsed time
(parallel calls side by side, ticking together), and tokens and cost so far.
Anywhere else (a pipe, a CI log) it prints one plain line per step instead.

>>> import io
>>> from agentkit.events import ToolCallStarted
>>> from agentkit.messages import ToolCall
>>> out = io.StringIO()
>>> progress = Progress.plain(out)
>>> search = ToolCall(id="c1", name="search", arguments='{"q": "x"}')
>>> started = ToolCallStarted(turn=1, key="1.0", call=search)
>>> progress.on_event(started)
>>> print(out.getvalue(), end="")
turn 1: search({"q": "x"}) started
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentkit.cli._echo import counted, shown
from agentkit.events import (
    Event,
    ModelCallFinished,
    ModelCallStarted,
    PlanUpdated,
    RunFailed,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.hooks import RunHooks
from agentkit.usage import Usage, format_usd

__all__ = ["Progress", "RunTally"]

_ARGS_WIDTH = 48
_BOXES = {"completed": "✓", "in_progress": "▸", "pending": "·"}


def _short(text: str, limit: int = _ARGS_WIDTH) -> str:
    text = shown(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(kw_only=True, slots=True)
class _Running:
    name: str
    arguments: str
    started: float


@dataclass(kw_only=True, slots=True)
class RunTally:
    """What the view knows so far: the turn, the model's state, running tools, tokens, cost.

    Attributes:
        turn: the current turn (0 before the first model call).
        model_busy_since: when the current model call started, or ``None``.
        running: tool calls started and not finished, by call id.
        usage: tokens and calls so far.
        cost_usd: cost so far.
        tools_done: tool calls finished so far.
        plan: the model's latest plan (an [`agentkit.planning.Plan`][]), once it made one.
    """

    turn: int = 0
    model_busy_since: float | None = None
    running: dict[str, _Running] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    tools_done: int = 0
    tools_failed: int = 0
    model_retries: int = 0
    plan: Any = None

    def totals(self) -> str:
        """Tokens and cost so far, as one short phrase."""
        u = self.usage
        return f"{u.input_tokens:,} in / {u.output_tokens:,} out tokens, {format_usd(self.cost_usd)}"

    def done(self) -> str:
        """Tool calls finished (and failed), model retries, tokens and cost, as one short phrase."""
        failed = f" ({self.tools_failed} failed)" if self.tools_failed else ""
        retries = f" · {counted(self.model_retries, 'retried model call')}" if self.model_retries else ""
        return f"{counted(self.tools_done, 'tool call')} done{failed}{retries} · {self.totals()}"


class _Panel:
    """The live panel; rebuilt on every refresh so elapsed times tick."""

    def __init__(self, tally: RunTally) -> None:
        self._tally = tally

    def __rich__(self) -> RenderableType:
        tally, now = self._tally, time.perf_counter()
        head = Text(f"turn {tally.turn}", style="bold")
        if tally.model_busy_since is not None:
            head.append(f"  model thinking… {now - tally.model_busy_since:4.1f}s", style="cyan")
        elif tally.running:
            head.append(f"  {len(tally.running)} tool call(s) running", style="yellow")
        table = Table.grid(padding=(0, 2))
        for run in tally.running.values():
            table.add_row(
                Text(f"⠿ {shown(run.name)}", style="yellow"),
                Text(_short(run.arguments), style="dim"),
                Text(f"{now - run.started:5.1f}s"),
            )
        foot = Text(tally.done(), style="dim")
        return Group(head, *_plan_rows(tally.plan), table, foot)


def _finished_line(event: ToolCallFinished) -> str:
    """One plain line for a finished call, with its arguments and, when it failed, why.

    Parallel calls of one tool differ by their arguments; the reason is the first line of the
    error the model was sent.
    """
    call, result = event.call, event.result
    line = f"turn {event.turn}: {call.name}({_short(call.arguments)})"
    if not result.is_error:
        return f"{line} done in {event.duration_s:.2f}s"
    error = next((text.strip() for text in result.content.splitlines() if text.strip()), "")
    return f"{line} failed in {event.duration_s:.2f}s" + (f": {_short(error)}" if error else "")


def _plan_rows(plan: Any) -> list[Text]:
    """The plan's steps, one row each, the running one highlighted."""
    if plan is None:
        return []
    styles = {"completed": "green", "in_progress": "bold yellow", "pending": "dim"}
    return [
        Text(f"  {_BOXES.get(s.status, '?')} {shown(s.step)}", style=styles.get(s.status, ""))
        for s in plan.steps
    ]


def _plan_line(plan: Any) -> str:
    """The plan in one line: how many steps are done and each step with its status mark."""
    done = sum(s.status == "completed" for s in plan.steps)
    steps = " ".join(f"{_BOXES.get(s.status, '?')} {s.step};" for s in plan.steps).rstrip(";")
    return f"plan {done}/{len(plan.steps)} done: {steps}"


class Progress(RunHooks):
    """Shows a run's progress; attach it with ``run(..., hooks=[progress])`` or feed it stream events.

    Use `for_terminal` to pick the live view on a TTY and plain lines
    elsewhere, and use the instance as a context manager around the run.
    """

    def __init__(self, *, live: bool, out: IO[str]) -> None:
        self.tally = RunTally()
        self._out = out
        self._live: Live | None = None
        if live:
            console = Console(file=out, stderr=out is sys.stderr)
            self._live = Live(_Panel(self.tally), console=console, refresh_per_second=8, transient=True)

    def live_view(self) -> RenderableType:
        """The live panel as a rich renderable (what the terminal shows, re-rendered as time passes)."""
        return _Panel(self.tally)

    @classmethod
    def plain(cls, out: IO[str]) -> Progress:
        """Plain lines to ``out``, one per step."""
        return cls(live=False, out=out)

    @classmethod
    def for_terminal(cls, out: IO[str] | None = None, *, live: bool | None = None) -> Progress:
        """The live view when ``out`` (stderr by default) is a terminal, else plain lines."""
        stream = sys.stderr if out is None else out
        return cls(live=stream.isatty() if live is None else live, out=stream)

    def __enter__(self) -> Self:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Hide the live panel while the body uses the terminal (e.g. an approval question)."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def _line(self, text: str) -> None:
        if self._live is None:
            self._out.write(shown(text) + "\n")
            self._out.flush()

    def on_event(self, event: Event) -> None:
        """Update the view with one event (never raises)."""
        tally, now = self.tally, time.perf_counter()
        if isinstance(event, ModelCallStarted):
            tally.turn, tally.model_busy_since = event.turn, now
            self._line(f"turn {event.turn}: calling the model")
        elif isinstance(event, ModelCallFinished):
            tally.model_busy_since = None
            response = event.response
            if response is not None:
                tally.cost_usd += float(getattr(response, "cost_usd", 0.0) or 0.0)
                if isinstance(usage := getattr(response, "usage", None), Usage):
                    tally.usage = tally.usage + usage  # the turn's end replaces it with the run's own sum
                if retries := int(getattr(response, "retries", 0) or 0):
                    tally.model_retries += retries
                    self._line(
                        f"turn {event.turn}: the model answered after {counted(retries, 'retried attempt')}"
                    )
        elif isinstance(event, ToolCallStarted):
            call = event.call
            tally.running[event.key] = _Running(name=call.name, arguments=call.arguments, started=now)
            self._line(f"turn {event.turn}: {call.name}({_short(call.arguments)}) started")
        elif isinstance(event, ToolCallFinished):
            tally.running.pop(event.key, None)
            tally.tools_done += 1
            tally.tools_failed += event.result.is_error
            self._line(_finished_line(event))
        elif isinstance(event, TurnFinished):
            tally.usage = event.usage
            self._line(f"turn {event.turn} finished: {tally.totals()} so far")
        elif isinstance(event, PlanUpdated):
            tally.plan = event.plan
            self._line(f"turn {event.turn}: {_plan_line(event.plan)}")
        elif isinstance(event, RunFailed):
            self._line(f"run failed: {type(event.error).__name__}")
