"""``agentkit demo report|trip``: the bundled demo agents, offline unless ``--live``.

The demos ship as the ``agentkit-demos`` distribution (the repository's
``examples/`` folder, installed as the ``agentkit_demos`` package), so this
command works from any folder once it is installed; a checkout's
``examples/`` is used when the distribution is not installed (or the folder
``AGENTKIT_EXAMPLES`` names, for development). Each demo runs as its own
Python process in the current folder and writes its outputs there (under
``out/``, or ``--out``). A demo whose example is missing from such a folder
falls back to the city-brief example, and says so.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from agentkit.cli._echo import echo
from agentkit.cli._errors import EXIT_OUTPUT_CLOSED, CliError, reported

__all__ = ["DemoName", "demo", "demo_command", "examples_dir", "installed_demos"]


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


def installed_demos() -> bool:
    """Whether the ``agentkit-demos`` distribution (package ``agentkit_demos``) is installed."""
    return importlib.util.find_spec("agentkit_demos") is not None


def demo_command(
    name: DemoName, examples: Path | None, *, live: bool, out: Path | None = None, prompt: str | None = None
) -> tuple[list[str], str | None]:
    """The command line that runs demo ``name``, and a note when it falls back to another example.

    ``examples`` is a folder holding the demos as the ``examples`` package; ``None`` runs the
    installed ``agentkit_demos`` package.
    """
    flags = ["--live"] if live else []
    if out is not None:
        flags += ["--out", str(out)]
    if prompt is not None:
        flags += ["--", prompt]
    if examples is None:
        return [sys.executable, "-m", f"agentkit_demos.{_DEMOS[name].package}", *flags], None
    package = examples / _DEMOS[name].package
    if (package / "__main__.py").is_file():
        return [sys.executable, "-m", f"examples.{package.name}", *flags], None
    fallback = examples / _FALLBACK
    if not fallback.is_file():
        raise CliError(f"the {name} demo is not in {examples}", hint="run from an agentkit checkout")
    note = f"the {name} demo is not in this checkout yet; running the city-brief example instead"
    return [sys.executable, str(fallback), *flags], note


def demo(
    name: Annotated[DemoName, typer.Argument(help="Which demo: report or trip.")],
    prompt: Annotated[str | None, typer.Argument(help="Your own request or question (with --live).")] = None,
    *,
    live: Annotated[
        bool,
        typer.Option("--live", help="Call Kimi-K2 instead of replaying offline (needs MOONSHOT_API_KEY)."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where the demo writes its files (default: out/<demo> in this folder)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Run a demo agent: offline by default (no network, no API key), on Kimi-K2 with --live."""
    with reported(debug=debug):
        if live and not os.environ.get("MOONSHOT_API_KEY"):
            raise CliError(
                "--live needs a Kimi API key",
                hint="export MOONSHOT_API_KEY=sk-... ; without --live the demo runs offline and needs none",
            )
        examples = None if "AGENTKIT_EXAMPLES" not in os.environ and installed_demos() else examples_dir()
        if examples is None and not installed_demos():
            raise CliError(
                "the demos are not installed",
                hint="install them from an agentkit checkout: pip install ./tools ./examples "
                "(or run agentkit demo inside the checkout)",
            )
        if prompt is not None and not live:
            raise CliError(
                "a request of your own needs the live model",
                hint=f"add --live: agentkit demo {name} --live ...",
            )
        command, note = demo_command(name, examples, live=live, out=out, prompt=prompt)
        if note:
            echo(f"note: {note}", err=True)
        # The demo runs in this folder (its outputs land here) without importing from it; its
        # hint on running live names this command (AGENTKIT_DEMO_COMMAND, read by the demos).
        env = {**os.environ, "PYTHONSAFEPATH": "1", "AGENTKIT_DEMO_COMMAND": f"agentkit demo {name}"}
        if examples is not None:  # the checkout's folder is imported as the ``examples`` package
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(examples.parent), env.get("PYTHONPATH")]))
        completed = subprocess.run(command, env=env, check=False)  # noqa: S603 - our own interpreter and demo
        if completed.returncode == EXIT_OUTPUT_CLOSED:  # piped into a reader that stopped: quietly
            raise typer.Exit(EXIT_OUTPUT_CLOSED)
        if completed.returncode != 0:
            raise CliError(f"the {name} demo failed (exit {completed.returncode})", exit_code=1)
