"""``agentkit demo report|trip``: the bundled demo agents, offline unless ``--live``.

The demos live in the repository's ``examples/`` folder (they are not part of
the installed package), so this command works from a checkout. Each demo is
run as its own Python process; a demo whose example has not been added to the
checkout falls back to the city-brief example, and says so.
"""

from __future__ import annotations

import enum
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from agentkit.cli._errors import CliError, reported

__all__ = ["DemoName", "demo", "demo_command", "examples_dir"]


class DemoName(enum.StrEnum):
    """The demos ``agentkit demo`` knows."""

    report = "report"
    trip = "trip"


@dataclass(frozen=True, kw_only=True, slots=True)
class _Entry:
    package: str  # examples/<package>/ run as ``python -m examples.<package>``


_DEMOS = {DemoName.report: _Entry(package="report_agent"), DemoName.trip: _Entry(package="trip_planner")}
_FALLBACK = "city_brief.py"


def examples_dir() -> Path | None:
    """The checkout's ``examples/``: ``AGENTKIT_EXAMPLES``, the working directory's, or the package's."""
    candidates = [os.environ.get("AGENTKIT_EXAMPLES"), Path.cwd() / "examples"]
    candidates.append(Path(__file__).resolve().parents[2] / "examples")
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def demo_command(name: DemoName, examples: Path, *, live: bool) -> tuple[list[str], str | None]:
    """The command line that runs demo ``name``, and a note when it falls back to another example."""
    package = examples / _DEMOS[name].package
    flags = ["--live"] if live else []
    if (package / "__main__.py").is_file():
        return [sys.executable, "-m", f"examples.{package.name}", *flags], None
    fallback = examples / _FALLBACK
    if not fallback.is_file():
        raise CliError(f"the {name} demo is not in {examples}", hint="run from an agentkit checkout")
    note = f"the {name} demo is not in this checkout yet; running the city-brief example instead"
    return [sys.executable, str(fallback), *flags], note


def demo(
    name: Annotated[DemoName, typer.Argument(help="Which demo: report or trip.")],
    live: Annotated[
        bool,
        typer.Option("--live", help="Call Kimi-K2 instead of replaying offline (needs MOONSHOT_API_KEY)."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Run a demo agent: offline by default (no network, no API key), on Kimi-K2 with --live."""
    with reported(debug=debug):
        examples = examples_dir()
        if examples is None:
            raise CliError(
                "no examples/ folder found", hint="run from an agentkit checkout or set AGENTKIT_EXAMPLES"
            )
        if live and not os.environ.get("MOONSHOT_API_KEY"):
            raise CliError(
                "--live needs a Kimi API key",
                hint="export MOONSHOT_API_KEY=sk-... ; without --live the demo runs offline and needs none",
            )
        command, note = demo_command(name, examples, live=live)
        if note:
            typer.echo(f"note: {note}", err=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(examples.parent), os.environ.get("PYTHONPATH")])),
        }
        completed = subprocess.run(command, cwd=examples.parent, env=env, check=False)  # noqa: S603 - our own interpreter and example
        if completed.returncode != 0:
            raise CliError(f"the {name} demo failed (exit {completed.returncode})", exit_code=1)
