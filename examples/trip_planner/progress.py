"""Shared by the demos: console progress, the output folder, the hint on running the demo live."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from agentkit_tools import Workspace

from agentkit.events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    ModelCallFinished,
    PlanUpdated,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)

__all__ = ["DEMO_COMMAND_ENV", "OUTPUT_CLOSED", "ProgressPrinter", "fresh_workspace", "live_hint", "run_main"]

#: The exit status when the demo's output was piped into a reader that stopped (128 + SIGPIPE).
OUTPUT_CLOSED = 141

#: Set by ``agentkit demo`` for the demo's process: the command the user typed (``agentkit demo trip``).
DEMO_COMMAND_ENV = "AGENTKIT_DEMO_COMMAND"

_MARKER = ".agentkit-demo-output"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProgressPrinter:
    """Prints one line per step of a streamed run, stamped with the seconds since it started."""

    def __init__(self, *, width: int = 70) -> None:
        self.started = time.perf_counter()
        self.width = width
        self.tool_calls = 0
        self._running = 0

    def _stamp(self) -> str:
        return f"[{time.perf_counter() - self.started:5.2f}s]"

    def __call__(self, event: Event) -> None:
        """Print ``event`` if it is a step worth showing."""
        if isinstance(event, ModelCallFinished):
            calls = len(event.response.message.tool_calls) if event.response is not None else 0
            what = f"asks for {calls} tool call{'s' * (calls != 1)}" if calls else "answers"
            parallel = " (in parallel)" if calls > 1 else ""
            print(f"{self._stamp()} turn {event.turn}: the model {what}{parallel}")
        elif isinstance(event, ToolCallStarted):
            self._running += 1
            self.tool_calls += 1
            args = _short(event.call.arguments, self.width - len(event.call.name))
            print(f"{self._stamp()}   -> {event.call.name}({args})  [{self._running} running]")
        elif isinstance(event, ToolCallFinished):
            self._running -= 1
            mark = "!!" if event.result.is_error else "<-"
            result = _short(event.result.content, self.width)
            print(f"{self._stamp()}   {mark} {event.call.name} {event.duration_s * 1000:.0f} ms: {result}")
        elif isinstance(event, ApprovalRequested):
            print(f"{self._stamp()}   ?? {event.call.name} waits for approval")
        elif isinstance(event, ApprovalDecided):
            print(f"{self._stamp()}   ok {event.call.name}: decision {event.decision!r}")
        elif isinstance(event, PlanUpdated):
            steps = event.plan.steps
            done = sum(s.status == "completed" for s in steps)
            now = next((s.step for s in steps if s.status == "in_progress"), "all done")
            print(f"{self._stamp()}   plan {done}/{len(steps)} done, now: {now}")
        elif isinstance(event, TurnFinished):
            u = event.usage
            so_far = f"{u.input_tokens:,} input + {u.output_tokens:,} output tokens so far"
            print(f"{self._stamp()} turn {event.turn} done ({so_far})")


def fresh_workspace(folder: Path) -> Workspace:
    """An empty output folder (a previous demo output there is replaced; anything else is kept)."""
    if folder.exists() and (folder / _MARKER).exists():
        shutil.rmtree(folder)
    elif folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} exists and is not a demo output folder: choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _MARKER).write_text("written by the agentkit demo; replaced on the next run\n")
    return Workspace(folder)


def live_hint(package: str, prompt: str) -> str:
    """How to run this demo live, in the form it was started with.

    ``agentkit demo trip`` says so in ``AGENTKIT_DEMO_COMMAND``; started as ``python -m``, the
    hint names the interpreter that runs it (``python`` when that is the one on the PATH, else
    its path: ``.venv/bin/python`` for ``make demo``).
    """
    started = os.environ.get(DEMO_COMMAND_ENV) or f"{_python()} -m {package}"
    return f'Live: MOONSHOT_API_KEY=... {started} --live ["{prompt}"]'


def _python() -> str:
    """This interpreter as the user would type it."""
    running = Path(sys.executable).absolute()
    on_path = shutil.which("python")
    if on_path is not None and Path(on_path).absolute() == running:
        return "python"
    try:
        return str(running.relative_to(Path.cwd()))
    except ValueError:
        return str(running)


def run_main(main: Callable[[], int]) -> int:
    """Run a demo's ``main``; when its output's reader stops early (``| head``), end quietly (141)."""
    try:
        return main()
    except* BrokenPipeError:
        pass
    # Nothing to print, nowhere to print it; the flush at exit must not fail either.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return OUTPUT_CLOSED
